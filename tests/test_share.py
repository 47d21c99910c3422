from __future__ import annotations

import base64
import json

import pytest
from helpers import assert_one_sentence, shown
from streamlit.testing.v1 import AppTest
from test_app import APP

from core.datasets import DATASETS, load_dataset
from core.errors import UserError
from core.exchange import share
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.model.trace import Limits

BUILT_IN = [name for name, info in DATASETS.items() if info.origin == "built-in"]
GOOD_MODEL = {"name": "GRU", "layers": [{"kind": "GRU", "units": 8}]}


def token_of(payload) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


SHAPE = {"modality": "series", "task": "forecasting", "input": [24, 1]}


def comparison(**changes) -> dict:
    return {"v": 1, "dataset": {"id": "sunspots", "settings": {}}, "models": [GOOD_MODEL], **changes}


def shaped(**shape) -> dict:
    """A comparison whose data stayed with the sender, of this shape."""
    return comparison(dataset={"shape": shape})


@pytest.mark.parametrize("dataset_id", BUILT_IN)
def test_every_preset_round_trips_through_a_link(dataset_id):
    dataset = load_dataset(dataset_id)
    specs = list(presets_for(dataset.signature).values())
    token = share.encode(dataset_id, {}, specs)
    restored = share.decode(token)
    assert restored.dataset["id"] == dataset_id and restored.shape is None
    assert restored.models == specs
    restored.check_against(dataset.signature)
    assert len(token) < share.MAX_PARAMETER_CHARS


HOSTILE = [
    ("empty", "", "The share link is empty."),
    ("not base64", "%%%%not-base64%%%%", "not base64url-encoded JSON"),
    ("bad padding", "QQ", "not base64url-encoded JSON"),
    ("not JSON", token_of("{this is not json"), "not base64url-encoded JSON"),
    ("not utf-8", base64.urlsafe_b64encode(b"\xff\xfe\xfa").decode(), "not base64url-encoded JSON"),
    ("a list", token_of([1, 2, 3]), "does not describe a comparison"),
    ("extra key", token_of(comparison(code="import os")), "does not describe a comparison"),
    ("missing models", token_of({"v": 1, "dataset": {"id": "co2", "settings": {}}}), "does not describe"),
    ("wrong version", token_of(comparison(v=99)), "has version 99"),
    (
        "unknown dataset",
        token_of(comparison(dataset={"id": "../../etc/passwd", "settings": {}})),
        "unknown dataset",
    ),
    (
        "upload dataset",
        token_of(comparison(dataset={"id": "upload:x.csv", "settings": {}})),
        "unknown dataset",
    ),
    (
        "dataset extra key",
        token_of(comparison(dataset={"id": "co2", "settings": {}, "path": "/"})),
        "exactly an id and settings",
    ),
    (
        "bad setting",
        token_of(comparison(dataset={"id": "co2", "settings": {"window": 10**9}})),
        "window must be at most 400",
    ),
    ("shape and id", token_of(comparison(dataset={"shape": SHAPE, "id": "co2"})), "or only the shape"),
    ("shape keys", token_of(shaped(modality="series", task="forecasting")), "exactly a modality, a task"),
    ("unknown kind", token_of(shaped(**{**SHAPE, "modality": "audio"})), "unknown kind of data or task"),
    ("unhashable kind", token_of(shaped(**{**SHAPE, "modality": ["series"]})), "unknown kind of data"),
    ("task of another kind", token_of(shaped(**{**SHAPE, "task": "classification"})), "unknown kind"),
    ("too few axes", token_of(shaped(**{**SHAPE, "input": [24]})), "must be 2 whole numbers"),
    ("huge axis", token_of(shaped(**{**SHAPE, "input": [10**9, 1]})), "from 1 to 100,000"),
    ("true as a size", token_of(shaped(**{**SHAPE, "input": [True, 1]})), "must be 2 whole numbers"),
    ("no models", token_of(comparison(models=[])), "must carry 1 to 8 models"),
    ("too many models", token_of(comparison(models=[GOOD_MODEL] * 9)), "must carry 1 to 8 models"),
    (
        "unknown kind",
        token_of(comparison(models=[{"name": "x", "layers": [{"kind": "Lambda"}]}])),
        "unknown kind 'Lambda'",
    ),
    (
        "out of bounds",
        token_of(comparison(models=[{"name": "x", "layers": [{"kind": "GRU", "units": -5}]}])),
        "units must be at least 1",
    ),
    (
        "code in a value",
        token_of(
            comparison(
                models=[
                    {
                        "name": "x",
                        "layers": [{"kind": "Dense", "activation": "__import__('os').system('id')"}],
                    }
                ]
            )
        ),
        "activation must be one of",
    ),
    (
        "duplicate names",
        token_of(comparison(models=[GOOD_MODEL, GOOD_MODEL])),
        "two models with the same name",
    ),
    ("oversized", "A" * (share.MAX_PARAMETER_CHARS + 1), "at most 6,000 are accepted"),
    # Python's JSON reader may or may not reach its recursion limit here; either way, one sentence
    ("deep nesting", token_of("[" * 2000 + "]" * 2000), "The share link"),
]


@pytest.mark.parametrize(("label", "token", "sentence"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_malformed_or_hostile_links_are_refused_with_a_sentence(label, token, sentence):
    with pytest.raises(UserError) as caught:
        share.decode(token)
    message = str(caught.value)
    assert sentence in message
    assert_one_sentence(message)


def test_a_model_over_the_parameter_cap_is_refused():
    big = {
        "name": "Huge",
        "layers": [{"kind": "Flatten"}, {"kind": "Dense", "units": 4096}, {"kind": "Dense", "units": 4096}],
    }
    shared = share.decode(token_of(comparison(models=[big])))
    with pytest.raises(UserError, match="parameters; this server allows at most"):
        shared.check_against(load_dataset("sunspots").signature, Limits(max_params=1_000_000, max_units=4096))


def test_a_model_that_does_not_fit_the_data_is_refused():
    shared = share.decode(token_of(comparison(models=[{"name": "x", "layers": [{"kind": "Conv2D"}]}])))
    with pytest.raises(UserError, match="does not fit"):
        shared.check_against(load_dataset("sunspots").signature)


def test_opening_a_link_restores_the_dataset_and_models():
    specs = [ModelSpec.from_dict(GOOD_MODEL), ModelSpec.from_dict({**GOOD_MODEL, "name": "Other"})]
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = share.encode("sunspots", {"window": 12}, specs)
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["choice"] == {
        "id": "sunspots",
        "settings": {"window": 12, "horizon": 1, "target": "sunspots", "predict": "level"},
    }
    assert list(at.session_state["models"]["sunspots"]) == ["GRU", "Other"]
    assert "Loaded a shared comparison" in at.success[0].value


def test_opening_a_bad_link_loads_nothing():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = token_of(comparison(v=2))
    at.run()
    assert not at.exception
    assert shown(at.error[0].value).endswith("Nothing was loaded.")
    assert at.session_state["choice"]["id"] == "mnist_5k" and at.session_state["models"] == {}


def test_a_link_without_its_data_round_trips_its_shape():
    dataset = load_dataset("seattle_weather", {"window": 12})
    specs = list(presets_for(dataset.signature).values())
    restored = share.decode(share.encode_without_data(share.DataShape.of(dataset), specs))
    assert restored.dataset is None and restored.models == specs
    assert restored.shape == share.DataShape.of(dataset)
    restored.check_fits(dataset)
