"""Every layer kind of the registry, on an input layout it accepts, is built into a Keras model and fitted
for one batch: a kind (or a parameter default) that Keras refuses fails here, not in a user's run.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from core.model.layers import KINDS
from core.model.spec import ModelSpec
from core.model.trace import trace_model, validate
from core.shapes import FEATURES, IMAGE, SEQUENCE, TOKENS, Shape, Signature
from core.training.builder import build_model, compile_model

BATCH = 4
CLASSES = 3
VOCABULARY = 20
SIGNATURES = {  # one tiny input of each layout a kind may accept, for a 3-class classification
    IMAGE: Signature(Shape(IMAGE, (8, 8, 1)), "classification", CLASSES),
    SEQUENCE: Signature(Shape(SEQUENCE, (12, 2)), "classification", CLASSES),
    TOKENS: Signature(Shape(TOKENS, (12,)), "classification", CLASSES, VOCABULARY),
    FEATURES: Signature(Shape(FEATURES, (6,)), "classification", CLASSES),
}
LAYOUT_NAMES = {IMAGE: "images", SEQUENCE: "sequences", TOKENS: "tokens", FEATURES: "features"}

# Built from the registry itself: a kind added to KINDS is covered without touching this file. One layout
# per kind keeps the file fast; a kind that accepts several takes them in turn by its place in the
# registry, so Dense, Dropout and the normalizations between them still meet every layout.
CASES = [(name, kind.accepts[index % len(kind.accepts)]) for index, (name, kind) in enumerate(KINDS.items())]
CASE_IDS = [f"{name}-{LAYOUT_NAMES.get(layout, '_'.join(layout))}" for name, layout in CASES]


@pytest.fixture(autouse=True)
def fresh_keras_session():
    """Each model starts from a clean Keras state (layer names, graphs) with fixed seeds; without the
    garbage collection ``clear_session`` does by default, which costs about 0.4 s a call here.
    """
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)


def one_kind_spec(name: str, signature: Signature) -> ModelSpec:
    """The kind with its default parameters, then what the classification head needs where the kind does
    not end with (batch, features): a global average pooling for a sequence (it uses an Embedding's padding
    mask, which Flatten would drop with a warning), a Flatten for an image.
    """
    layers = [{"kind": name}]
    ends_with = trace_model(ModelSpec.from_dict({"name": name, "layers": layers}), signature).rows[1].shape
    if ends_with is not None and ends_with.axes != FEATURES:
        layers.append({"kind": "GlobalAveragePooling1D" if ends_with.axes == SEQUENCE else "Flatten"})
    return ModelSpec.from_dict({"name": f"Only {name}", "layers": layers})


def one_batch(signature: Signature) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    dims = (BATCH, *signature.input.dims)
    if signature.tokens:
        x = rng.integers(1, signature.vocab_size, size=dims).astype("int32")
        x[:, -3:] = 0  # trailing padding, as the text sets have
    else:
        x = rng.normal(size=dims).astype("float32")
    y = rng.integers(0, signature.outputs, size=BATCH).astype("int32")
    return x, y


def test_every_kind_is_covered_once_on_a_layout_it_accepts():
    assert sorted(name for name, _ in CASES) == sorted(KINDS)
    assert all(layout in KINDS[name].accepts for name, layout in CASES)
    assert {layout for _, layout in CASES} <= set(SIGNATURES), "a kind accepts a layout with no signature"


@pytest.mark.parametrize(("name", "layout"), CASES, ids=CASE_IDS)
def test_kind_builds_and_fits_one_batch(name, layout):
    signature = SIGNATURES[layout]
    spec = one_kind_spec(name, signature)
    trace = validate(spec, signature)
    [layer_row] = [row for row in trace.rows if row.role == "layer" and row.kind == name]
    assert [row.role for row in trace.rows] == ["input", *["layer"] * len(spec.layers), "head"], (
        "the kind should read the input directly, with no adapter in front"
    )

    model = build_model(spec, signature)
    assert layer_row.call.cls in [type(layer).__name__ for layer in model.layers]
    compile_model(model, signature.task, "adam", 0.001)
    x, y = one_batch(signature)
    history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    assert int(model.optimizer.iterations) == 1
    [loss] = history.history["loss"]
    assert math.isfinite(loss), f"{name} on {signature.input}: loss {loss}"
    expected = (None, *trace.rows[-1].shape.dims)
    assert model.output_shape == expected
    assert tuple(model(x, training=False).shape) == (BATCH, *expected[1:])
    assert model.count_params() == trace.total_params
