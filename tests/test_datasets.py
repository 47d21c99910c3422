from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_one_sentence

from core.datasets import DATASETS, get_info, keras_classics, load_dataset
from core.datasets.keras_classics import NotFetched
from core.errors import SpecError, UserError
from core.shapes import IMAGE, SEQUENCE, TOKENS

BUILT_IN = [name for name, info in DATASETS.items() if info.origin == "built-in"]
KERAS = [name for name, info in DATASETS.items() if info.origin == "keras"]
AXES = {"images": (IMAGE,), "text": (TOKENS,), "series": (SEQUENCE,), "sequences": (SEQUENCE, TOKENS)}


@pytest.mark.parametrize("dataset_id", BUILT_IN)
def test_every_built_in_dataset_loads_offline(no_network, dataset_id):
    dataset = load_dataset(dataset_id)
    assert dataset.signature.input.axes in AXES[dataset.info.modality]
    assert min(len(dataset.train), len(dataset.validation), len(dataset.test)) > 20
    for split in (dataset.train, dataset.validation, dataset.test):
        assert len(split.x) == len(split.y)
        assert split.x.shape[1:] == dataset.signature.input.dims
    assert dataset.info.source and dataset.info.licence and dataset.info.description


def test_each_modality_and_task_is_offered_built_in():
    offered = {(DATASETS[name].modality, DATASETS[name].task) for name in BUILT_IN}
    assert offered >= {
        ("images", "classification"),
        ("text", "classification"),
        ("text", "language-model"),
        ("series", "forecasting"),
    }
    series = [load_dataset(name) for name in BUILT_IN if DATASETS[name].modality == "series"]
    assert {dataset.signature.input.dims[1] for dataset in series} >= {1, 4}  # uni- and multivariate


def test_splits_are_seeded():
    first, again = load_dataset("digits_8x8", {"seed": 3}), load_dataset("digits_8x8", {"seed": 3})
    other = load_dataset("digits_8x8", {"seed": 4})
    assert np.array_equal(first.test.y, again.test.y)
    assert not np.array_equal(first.test.y, other.test.y)


def test_text_settings_change_tokens_and_shapes():
    words = load_dataset("rotten_tomatoes", {"tokens": "word", "vocab_size": 300, "sequence_length": 12})
    chars = load_dataset("rotten_tomatoes", {"tokens": "char", "sequence_length": 80})
    assert words.signature.input.dims == (12,) and words.signature.vocab_size == 300
    assert words.train.x.max() < 300
    assert chars.signature.input.dims == (80,) and chars.signature.vocab_size < 200
    assert words.class_names == ["fresh", "rotten"]
    assert len(words.test_texts) == len(words.test)


def test_language_model_predicts_the_next_character():
    dataset = load_dataset("shakespeare", {"sequence_length": 20, "step": 50})
    text = dataset.test_texts[0]
    assert dataset.decode(dataset.test.x[0]) == text[:20]
    assert dataset.vocabulary[dataset.test.y[0]] == text[20]


def test_series_split_is_chronological_and_scaled_on_training_part_only():
    dataset = load_dataset("co2", {"window": 12, "predict": "level"})
    frame = dataset.preview["frame"]
    parts = frame["part"].tolist()
    assert parts == sorted(parts, key=("train", "validation", "test").index)
    train_values = frame.loc[frame["part"] == "train", "co2"]
    assert dataset.target.mean == pytest.approx(train_values.mean())
    assert dataset.train.x.mean() == pytest.approx(0.0, abs=0.1)
    assert dataset.test.y.mean() > 1.0  # later CO2 is above the training mean: no leakage
    assert any("59 missing values were filled" in note for note in dataset.notes)
    assert dataset.target.test_times[0] > str(frame.index[int(len(frame) * 0.85) - 1])


def test_series_settings_shape_the_windows():
    dataset = load_dataset("seattle_weather", {"window": 14, "horizon": 3, "target": "wind"})
    assert dataset.train.x.shape[1:] == (14, 4)
    assert dataset.train.y.shape[1:] == (3,)
    assert dataset.target.name == "wind" and dataset.signature.outputs == 3


def test_change_targets_unscale_to_the_level():
    level = load_dataset("co2", {"predict": "level"})
    change = load_dataset("co2", {"predict": "change"})
    assert np.allclose(
        level.target.unscale(level.test.y, level.test.x),
        change.target.unscale(change.test.y, change.test.x),
        atol=1e-3,
    )


def test_bad_settings_and_ids_are_one_sentence():
    with pytest.raises(UserError, match="There is no dataset called 'nope'"):
        get_info("nope")
    with pytest.raises(SpecError, match="window must be at least 2"):
        load_dataset("co2", {"window": 0})
    with pytest.raises(SpecError, match="no parameter named 'colour'"):
        load_dataset("digits_8x8", {"colour": 1})
    with pytest.raises(UserError, match="too few for a window of 400"):
        load_dataset("sunspots", {"window": 400})


@pytest.mark.parametrize("dataset_id", KERAS)
def test_keras_classics_offline_fail_with_one_sentence(no_network, tmp_path, monkeypatch, dataset_id):
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(NotFetched, match=f"The Keras dataset '{dataset_id}' has not been downloaded yet."):
        load_dataset(dataset_id)
    with pytest.raises(UserError) as caught:
        keras_classics.fetch(dataset_id)
    message = str(caught.value)
    assert message.startswith(f"The Keras dataset '{dataset_id}' could not be downloaded")
    assert_one_sentence(message)


def test_a_fetched_word_dataset_loads_from_plain_arrays(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    sequences = [[1, 5, 99, 4], [1, 7], [1, 4, 4, 120, 5, 6, 7, 8, 9, 10]] * 40
    cache = keras_classics.cache_file("imdb")
    cache.parent.mkdir(parents=True)
    np.savez(
        cache,
        ids=np.concatenate(sequences),
        ends=np.cumsum([len(s) for s in sequences]),
        y=np.array([0, 1, 1] * 40),
        words=np.array(["the", "film", "good"]),
        ranks=np.array([1, 2, 200]),
    )
    dataset = load_dataset("imdb", {"vocab_size": 100, "sequence_length": 8, "limit": 120})
    assert dataset.vocabulary[3:5] == ["the", "film"] and dataset.vocabulary[99] == "#99"
    assert dataset.train.x.max() == 99 and 120 not in dataset.test.x  # beyond the vocabulary: unknown
    assert dataset.train.x.shape[1] == 8 and len(dataset.class_names) == 2
