"""The lesson's card and what fills it: padding masked in text models, gradient clipping, accuracy by text
length, the card's rows from records with and without measurements, and the card on Compare.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from helpers import finished_run, shown, small
from streamlit.testing.v1 import AppTest
from test_app import APP

from core.compare.seed_groups import seed_groups
from core.errors import SpecError, UserError
from core.exchange.script import reproduce_script
from core.lab.lesson_card import bucket_edges, card_rows, family_wins, length_accuracy
from core.model.presets import TEXT_PRESETS
from core.model.spec import ModelSpec
from core.model.trace import trace_model
from core.runs.schema import check_metrics
from core.runs.store import RunStore
from core.shapes import TOKENS, Shape, Signature
from core.tasks.settings import check_train_settings
from core.training.evaluation import classification

TEXT = Signature(Shape(TOKENS, (12,)), "classification", 2, 50)
COPY = Signature(Shape(TOKENS, (30,)), "sequence-labelling", 10, 10)


def preset(name: str) -> ModelSpec:
    return ModelSpec.from_dict({"name": name, "layers": TEXT_PRESETS[name]})


# ---- masking -----------------------------------------------------------------------------------------


def test_text_embeddings_mask_padding_but_copy_memory_blanks_are_read():
    embedding = trace_model(preset("LSTM"), TEXT).rows[1]
    assert embedding.call.kwargs == {"mask_zero": True} and "masked" in embedding.note
    adapter = trace_model(ModelSpec.from_dict({"layers": [{"kind": "GRU", "units": 4}]}), TEXT).rows[1]
    assert adapter.role == "adapter" and adapter.call.kwargs == {"mask_zero": True}
    copying = trace_model(ModelSpec.from_dict({"layers": [{"kind": "GRU", "units": 4}]}), COPY).rows[1]
    assert copying.call.kwargs == {}  # copy_memory's 0 is a blank symbol that counts


def test_the_trace_names_the_layer_that_drops_the_mask():
    cnn = trace_model(preset("CNN"), TEXT)
    assert cnn.mask_dropped_by.kind == "Conv1D" and "drops the padding mask" in cnn.mask_dropped_by.note
    rnn_pool = trace_model(preset("SimpleRNN"), TEXT)
    assert rnn_pool.mask_dropped_by.kind == "GlobalMaxPooling1D"
    assert "skips padded steps" in rnn_pool.rows[2].note
    assert trace_model(preset("LSTM"), TEXT).mask_dropped_by is None


def test_a_recurrent_prediction_is_unchanged_by_more_padding_and_the_script_masks_too():
    from core.training.builder import build_model

    short, long = (Signature(Shape(TOKENS, (n,)), "classification", 2, 50) for n in (6, 15))
    a, b = build_model(preset("GRU"), short), build_model(preset("GRU"), long)
    b.set_weights(a.get_weights())
    text = [7, 3, 9, 4]
    x_short = np.array([[0, 0, *text]], dtype="int32")
    x_long = np.array([[0] * 11 + text], dtype="int32")
    np.testing.assert_allclose(a.predict(x_short, verbose=0), b.predict(x_long, verbose=0), atol=1e-6)
    cnn_short, cnn_long = build_model(preset("CNN"), short), build_model(preset("CNN"), long)
    cnn_long.set_weights(cnn_short.get_weights())  # the convolution reads the padding: it changes
    assert not np.allclose(cnn_short.predict(x_short, verbose=0), cnn_long.predict(x_long, verbose=0))
    record = {"id": "r1", "config": {"dataset": {"id": "rotten_tomatoes", "settings": {}}}}
    record["config"]["model"], record["config"]["train"] = preset("GRU").to_dict(), {}
    assert "keras.layers.Embedding(50, 32, mask_zero=True)" in reproduce_script(record, TEXT)


# ---- gradient clipping -------------------------------------------------------------------------------


def test_clipnorm_is_validated_reaches_the_optimizer_and_the_script():
    from core.training.builder import build_model, compile_model

    assert check_train_settings({})["clipnorm"] == 0.0
    assert check_train_settings({}, "sequence-labelling")["clipnorm"] == 1.0  # copy_memory's task
    with pytest.raises(SpecError, match="clipnorm"):
        check_train_settings({"clipnorm": -1.0})
    model = build_model(preset("GRU"), TEXT)
    compile_model(model, "classification", "adam", 0.01, 0.5)
    assert model.optimizer.clipnorm == 0.5
    compile_model(model, "classification", "adam", 0.01)
    assert model.optimizer.clipnorm is None
    record = {"id": "r1", "config": {"dataset": {"id": "rotten_tomatoes", "settings": {}}}}
    record["config"]["model"] = preset("GRU").to_dict()
    record["config"]["train"] = {"clipnorm": 2.0}
    assert "Adam(learning_rate=0.001, clipnorm=2.0)" in reproduce_script(record, TEXT)
    record["config"]["train"] = {}
    assert "clipnorm" not in reproduce_script(record, TEXT)


# ---- accuracy by text length -------------------------------------------------------------------------


def text_run(
    name: str, family: str, true: list[int], predicted: list[int], lengths: list[int] | None, **extra
) -> dict:
    """A finished text classification run of a text preset, with per-example test results."""
    results = {"count": len(true), "true": true, "predicted": predicted, "confidence": [0.9] * len(true)}
    if lengths is not None:
        results["length"] = lengths
    accuracy = float(np.mean(np.array(true) == np.array(predicted)))
    seed = extra.pop("seed", 42)
    metrics = {
        "accuracy": accuracy,
        "majority_accuracy": 0.5,
        "class_names": ["fresh", "rotten"],
        "confusion_matrix": [[1, 1], [1, 1]],
        "test_results": results,
        **extra,
    }
    run_id = f"{name}-{seed}-{len(true)}-{accuracy}"
    history = [{"epoch": 1, "seconds": 1.0, "wall_seconds": 1.0, "samples_per_second": 500.0}]
    return finished_run(
        run_id,
        name,
        "rotten_tomatoes",
        "classification",
        metrics,
        family=family,
        model=preset(name).to_dict(),
        train={"seed": seed},
        history=history,
        params=1000,
        train_seconds=2.0,
    )


LENGTHS = [2, 4, 6, 8, 10, 12, 14, 16]
TRUE = [0, 1, 0, 1, 0, 1, 0, 1]


def test_accuracy_by_length_cuts_the_test_texts_at_their_quartiles():
    assert list(bucket_edges(LENGTHS)) == [1, 5, 9, 12, 16]
    assert list(bucket_edges([5, 5, 5])) == [4, 5]  # one length: one bucket
    right_on_long = text_run("LSTM", "rnn", TRUE, [1, 0, 1, 0, 0, 1, 0, 1], LENGTHS)
    right_on_short = text_run("CNN", "cnn", TRUE, [0, 1, 0, 1, 1, 0, 1, 0], LENGTHS)
    frame = length_accuracy(seed_groups([right_on_long, right_on_short]))
    lstm = frame[frame["model"].str.startswith("LSTM")]
    assert list(lstm["bucket"]) == ["2–5 tokens", "6–9 tokens", "10–12 tokens", "13–16 tokens"]
    assert list(lstm["accuracy"]) == [0.0, 0.0, 1.0, 1.0]
    assert list(frame[frame["model"].str.startswith("CNN")]["accuracy"]) == [1.0, 1.0, 0.0, 0.0]
    assert list(lstm["examples"]) == [2, 2, 2, 2]
    assert length_accuracy(seed_groups([text_run("GRU", "rnn", TRUE, TRUE, None)])).empty


def test_text_evaluation_keeps_each_texts_length_and_the_schema_checks_it():
    dataset = small("rotten_tomatoes", 40)
    probabilities = np.tile([[0.3, 0.7]], (len(dataset.test), 1))
    metrics = classification(None, dataset, probabilities)
    lengths = metrics["test_results"]["length"]
    assert lengths == np.count_nonzero(dataset.test.x, axis=1).tolist() and 0 < max(lengths) <= 40
    check_metrics("classification", metrics)
    metrics["test_results"]["length"] = lengths[:-1]
    with pytest.raises(UserError, match="one token count per kept example"):
        check_metrics("classification", metrics)


# ---- the card ----------------------------------------------------------------------------------------


def test_card_rows_from_measured_runs():
    lstm = text_run("LSTM", "rnn", TRUE, TRUE, LENGTHS, receptive_field=None, memory_horizon=10)
    cnn = text_run("CNN", "cnn", TRUE, [0, 1, 0, 1, 1, 0, 1, 0], LENGTHS, receptive_field=5, memory_horizon=5)
    groups, rows = card_rows([lstm, cnn], [lstm, cnn], {"LSTM · seed 42": 1.02, "CNN · seed 42": 0.31})
    card = {row.title: row for row in rows}
    assert list(card) == [
        "Data structure",
        "Local feature extraction",
        "Contextual memory",
        "Parallelization",
        "Where each family won",
        "Variable length",
    ]
    lstm_label, cnn_label = (group.label for group in groups)
    assert "a sequence of 40 tokens" in card["Data structure"].cells[lstm_label]
    assert "unbounded" in card["Local feature extraction"].cells[lstm_label]
    assert "responds to 5 tokens at a time (5-grams)" in card["Local feature extraction"].cells[cnn_label]
    assert (
        card["Contextual memory"].cells[lstm_label]
        == "The gradient reaches back 10 tokens of 40 tokens (25%)."
    )
    assert "T^1.02 (grows about linearly with T)" in card["Parallelization"].cells[lstm_label]
    assert "500 samples/s" in card["Parallelization"].cells[cnn_label]
    assert "McNemar's exact test" in card["Where each family won"].summary
    assert card["Variable length"].cells[cnn_label].startswith("2–5 tokens: 1.000")
    assert not any(row.missing for row in rows)


def test_card_rows_without_measurements_say_how_to_get_each():
    old = text_run("GRU", "rnn", TRUE, TRUE, None)  # evaluated before lengths and probes were kept
    _, rows = card_rows([old], [old], {}, "press Measure cost against length below")
    card = {row.title: row for row in rows}
    assert card["Contextual memory"].cells["GRU · seed 42"] == "not measured"
    assert "train this model again on Train" in card["Contextual memory"].missing[0]
    assert "press Measure cost against length" in card["Parallelization"].missing[0]
    assert "T^" not in card["Parallelization"].cells["GRU · seed 42"]
    assert "Train a CNN and an RNN" in card["Where each family won"].missing[0]
    assert "predate the kept text lengths" in card["Variable length"].missing[0]


def test_family_wins_over_seed_groups_use_welchs_test():
    rnn = [text_run("LSTM", "rnn", TRUE, [*TRUE[:6], 1, 0], LENGTHS, seed=s) for s in (1, 2)]
    rnn[1]["metrics"]["accuracy"] = 0.76
    cnn = [text_run("CNN", "cnn", TRUE, [1, 1, 1, 1, 1, 1, 0, 1], LENGTHS, seed=s) for s in (1, 2)]
    cnn[1]["metrics"]["accuracy"] = 0.61
    (sentence,) = family_wins([*rnn, *cnn])
    assert sentence.startswith(
        "Movie review snippets: RNN won: RNN (LSTM · seeds 1, 2) leads CNN (CNN · seeds 1, 2) on accuracy"
    )
    assert "Welch's t-test p = 0.0" in sentence  # 0.755 against 0.6175 over two seeds each


def test_compare_shows_the_card(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    store = RunStore()
    lstm = text_run("LSTM", "rnn", TRUE, TRUE, LENGTHS, receptive_field=None, memory_horizon=10)
    cnn = text_run("CNN", "cnn", TRUE, [0, 1, 0, 1, 1, 0, 1, 0], LENGTHS, receptive_field=5, memory_horizon=5)
    for record in (lstm, copy.deepcopy(cnn)):
        store.save_record(record, "mine")
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.query_params["workspace"] = "mine"
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert "The lesson's comparison card" in [heading.value for heading in at.subheader]
    text = " ".join(shown(block.value) for block in at.markdown)
    assert "**Variable length**" in text and "2–5 tokens: 1.000" in text
    assert any("Measure cost against length" in caption.value for caption in at.caption)
    assert any(button.label == "Measure cost against length" for button in at.button)
