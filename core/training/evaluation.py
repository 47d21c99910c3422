"""Test-split evaluation for each task, in plain JSON-able numbers: one function per task, named by its
entry in ``core.tasks.registry`` (``EVALUATIONS``), each given the model, the dataset and the test split's
predictions.
"""

from __future__ import annotations

import math
from time import perf_counter
from typing import Any

import keras
import numpy as np

from core import budget
from core.compare.disagreement import sample_content
from core.datasets import Dataset
from core.training.batches import input_batches

EXAMPLES = 8
FORECAST_POINTS = 600
TEMPERATURES = (0.2, 0.5, 1.0)
GENERATED_CHARACTERS = 160
PREDICTION_POINTS = 2000  # regression: test samples kept to plot predicted against true
LABELLED_EXAMPLES = 5  # sequence labelling: test sequences kept to show, their first scored steps
SHOWN_STEPS = 40


def evaluate(model: keras.Model, dataset: Dataset, batch_size: int) -> dict[str, Any]:
    """Predict the test split once; return the task's metrics and the latency per sample."""
    x = dataset.test.x
    model.predict(input_batches(x[:batch_size], batch_size), verbose=0)  # warm-up: trace once
    start = perf_counter()
    predictions = model.predict(input_batches(x, batch_size), verbose=0)
    latency_ms = 1000 * (perf_counter() - start) / max(len(x), 1)
    metrics = EVALUATIONS[dataset.signature.task](model, dataset, predictions)
    return {**metrics, "latency_ms": latency_ms}


def _losses(probabilities: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The cross-entropy of each integer label in ``y`` under ``probabilities`` (classes on the last axis)."""
    picked = np.take_along_axis(probabilities, y[..., None].astype(np.int64), axis=-1)[..., 0]
    return -np.log(np.clip(picked.astype(np.float64), 1e-12, 1.0))


def _mean(values: np.ndarray) -> float:
    """The mean of ``values``, NaN where there are none."""
    return float(np.mean(values)) if values.size else math.nan


def _crossentropy(probabilities: np.ndarray, y: np.ndarray) -> float:
    """The mean cross-entropy of integer labels ``y`` under ``probabilities`` (classes on the last axis)."""
    return _mean(_losses(probabilities, y))


def _loss_results(loss: np.ndarray, baseline_loss: np.ndarray) -> dict[str, Any]:
    """Each test example's loss under the model and under the task's baseline, for testing one against the
    other example by example: the first ones the budget keeps, rounded on one scale.
    """
    kept = min(len(loss), budget.TEST_RESULT_VALUES // 2)
    model, baseline = _rounded(np.stack([loss[:kept], baseline_loss[:kept]]))
    return {"count": len(loss), "loss": model.tolist(), "baseline_loss": baseline.tolist()}


def classification(model: keras.Model, dataset: Dataset, probabilities: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro F1, per-class scores, the confusion matrix, the class baselines, misclassified
    examples and each test example's result.
    """
    y = dataset.test.y
    classes = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    hits = np.diag(confusion).astype(float)
    precision = np.divide(hits, confusion.sum(axis=0), out=np.zeros(classes), where=confusion.sum(axis=0) > 0)
    recall = np.divide(hits, confusion.sum(axis=1), out=np.zeros(classes), where=confusion.sum(axis=1) > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(classes), where=(precision + recall) > 0
    )
    present = confusion.sum(axis=1) > 0
    metrics: dict[str, Any] = {
        "accuracy": float(hits.sum() / max(len(y), 1)),
        "loss": _crossentropy(probabilities, y),
    }
    names = dataset.class_names
    metrics["macro_f1"] = float(f1[present].mean()) if present.any() else 0.0
    metrics.update(_class_baselines(dataset.train.y, y, classes, names))
    top = int(np.bincount(predicted, minlength=classes).argmax())
    metrics["top_prediction"] = names[top]
    metrics["top_prediction_share"] = float(np.mean(predicted == top)) if len(y) else 0.0
    metrics["per_class"] = [
        {
            "class": names[i],
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(confusion[i].sum()),
        }
        for i in range(classes)
    ]
    metrics["confusion_matrix"] = confusion.tolist()
    metrics["class_names"] = list(names)
    confidence = probabilities[np.arange(len(y)), predicted]
    metrics["examples"] = [
        _example(dataset, int(i), names[y[i]], names[predicted[i]], float(confidence[i]))
        for i in np.flatnonzero(predicted != y)[:EXAMPLES]
    ]
    texts = dataset.signature.tokens
    kept = min(len(y), budget.TEST_RESULT_VALUES // (4 if texts else 3))
    metrics["test_results"] = {  # example by example, for comparing two runs on the same split
        "count": len(y),
        "true": y[:kept].tolist(),
        "predicted": predicted[:kept].tolist(),
        "confidence": np.round(confidence[:kept].astype(np.float64), 3).tolist(),
    }
    if texts:  # the tokens each text kept, padding (id 0) aside: for accuracy by text length
        metrics["test_results"]["length"] = np.count_nonzero(dataset.test.x[:kept], axis=1).tolist()
    return metrics


def _class_baselines(
    train_labels: np.ndarray, test_labels: np.ndarray, classes: int, names: list[str]
) -> dict[str, Any]:
    """What answering without looking scores on the test split: always the commonest training class
    (majority) and a uniform guess (chance), in accuracy and in macro F1 over the classes present.
    """
    majority = int(np.bincount(train_labels, minlength=classes).argmax())
    shares = np.bincount(test_labels, minlength=classes) / max(len(test_labels), 1)
    present = shares > 0
    majority_f1 = 2 * shares[majority] / (1 + shares[majority]) if present[majority] else 0.0
    chance_f1 = 2 * shares / classes / (shares + 1 / classes)
    return {
        "majority_class": names[majority],
        "majority_accuracy": float(shares[majority]),
        "majority_macro_f1": float(majority_f1 / max(present.sum(), 1)),
        "chance_accuracy": 1 / classes,
        "chance_macro_f1": float(chance_f1[present].mean()) if present.any() else 0.0,
    }


def _example(dataset: Dataset, index: int, truth: str, predicted: str, confidence: float) -> dict[str, Any]:
    return {
        "index": index,
        "true": truth,
        "predicted": predicted,
        "confidence": confidence,
        **sample_content(dataset, index),
    }


def _errors(truth: np.ndarray, predicted: np.ndarray, prefix: str = "") -> dict[str, float]:
    error = predicted - truth
    nonzero = np.abs(truth) > 1e-8
    mape = float(np.mean(np.abs(error[nonzero] / truth[nonzero])) * 100) if nonzero.any() else math.nan
    return {
        f"{prefix}mae": float(np.mean(np.abs(error))),
        f"{prefix}rmse": float(np.sqrt(np.mean(error**2))),
        f"{prefix}mape": mape,
    }


def forecasting(model: keras.Model, dataset: Dataset, predictions: np.ndarray) -> dict[str, Any]:
    """Errors in the target's units beside the naive (last value) forecast's, the forecast to plot, and
    each test window's result.
    """
    target, inputs = dataset.target, dataset.test.x
    truth = target.unscale(dataset.test.y, inputs)
    predicted = target.unscale(predictions, inputs)
    naive = np.repeat(target.last_seen(inputs) * target.std + target.mean, truth.shape[1], axis=1)
    points = slice(0, FORECAST_POINTS)
    return {
        **_errors(truth, predicted),
        **_errors(truth, naive, "naive_"),
        "forecast": {
            "time": target.test_times[points],
            "truth": truth[points, 0].tolist(),
            "predicted": predicted[points, 0].tolist(),
            "naive": naive[points, 0].tolist(),
            "target": target.name,
            "points": len(truth),
        },
        "test_results": _window_results(dataset, truth, predicted),
    }


def _window_results(dataset: Dataset, truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Each test window's mean absolute error and forecast, and the target's values the windows span
    (window ``i`` reads ``series[i : i + window]`` and forecasts the next ``horizon`` values).
    """
    target, inputs = dataset.target, dataset.test.x
    windows, horizon = truth.shape
    kept = min(windows, budget.TEST_RESULT_VALUES // (horizon + 2))
    context = inputs[0, :, target.column] * target.std + target.mean if windows else np.zeros(0)
    series = np.concatenate([context, truth[:kept, 0], truth[kept - 1, 1:] if kept else []])
    return {
        "count": windows,
        "window": inputs.shape[1],
        "horizon": horizon,
        "error": _rounded(np.abs(predicted[:kept] - truth[:kept]).mean(axis=1)).tolist(),
        "predicted": _rounded(predicted[:kept]).tolist(),
        "series": _rounded(series).tolist(),
    }


def _rounded(values: np.ndarray, digits: int = 5) -> np.ndarray:
    """Values rounded to ``digits`` significant digits of the largest of them (compact JSON)."""
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    decimals = digits - 1 - math.floor(math.log10(largest)) if largest > 0 else 0
    return np.round(values.astype(np.float64), max(decimals, 0))


def language_model(model: keras.Model, dataset: Dataset, probabilities: np.ndarray) -> dict[str, Any]:
    """Accuracy and perplexity of the next character beside the unigram guess's, generated text, and each
    test character's loss beside the unigram guess's.
    """
    y = dataset.test.y
    length = dataset.signature.input.dims[0]
    seed_text = dataset.test_texts[0][:length] if dataset.test_texts else ""
    index = {char: i for i, char in enumerate(dataset.vocabulary)}
    seed_ids = [index.get(char, 0) for char in seed_text]
    texts = generate(model, dataset, seed_ids, TEMPERATURES, np.random.default_rng(0))
    samples = [{"temperature": t, "text": text} for t, text in zip(TEMPERATURES, texts, strict=True)]
    losses = _losses(probabilities, y)
    loss = _mean(losses)
    vocabulary = dataset.signature.outputs
    return {
        "accuracy": float(np.mean(probabilities.argmax(axis=1) == y)) if len(y) else 0.0,
        "loss": loss,
        "perplexity": float(math.exp(loss)),
        "unigram_perplexity": _unigram_perplexity(dataset.train.y, y, vocabulary),
        "seed_text": seed_text,
        "samples": samples,
        "test_results": _loss_results(losses, _unigram_losses(dataset.train.y, y, vocabulary)),
    }


def _unigram_losses(train_targets: np.ndarray, test_targets: np.ndarray, vocabulary: int) -> np.ndarray:
    """Each next token's loss when it is predicted by its training frequency alone (add-one smoothed)."""
    counts = np.bincount(train_targets, minlength=vocabulary) + 1.0
    return -np.log(counts[test_targets] / counts.sum())


def _unigram_perplexity(train_targets: np.ndarray, test_targets: np.ndarray, vocabulary: int) -> float:
    """The perplexity of predicting each next token by its training frequency alone (add-one smoothed)."""
    return float(np.exp(_mean(_unigram_losses(train_targets, test_targets, vocabulary))))


def generate(
    model: keras.Model,
    dataset: Dataset,
    seed_ids: list[int],
    temperatures: tuple[float, ...],
    rng: np.random.Generator,
    characters: int = GENERATED_CHARACTERS,
) -> list[str]:
    """Sample one text per temperature, a character at a time, all temperatures in one batch.

    Low temperatures pick the likeliest next character; high ones explore.
    """
    length = dataset.signature.input.dims[0]
    ids = np.zeros((len(temperatures), length + characters), dtype=np.int32)
    ids[:, length - len(seed_ids[-length:]) : length] = seed_ids[-length:]
    scale = np.array(temperatures)[:, None]
    for step in range(characters):
        probabilities = np.asarray(model.predict_on_batch(ids[:, step : step + length]), dtype=np.float64)
        logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / scale
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        for row, row_weights in enumerate(weights):
            ids[row, step + length] = rng.choice(len(row_weights), p=row_weights)
    return [dataset.decode(row[length:]) for row in ids]


def regression(model: keras.Model, dataset: Dataset, predictions: np.ndarray) -> dict[str, Any]:
    """MSE and MAE beside always predicting the training mean, the first test samples' predictions, and
    each test sample's squared error beside the training mean's.
    """
    truth = dataset.test.y.reshape(len(dataset.test), -1).astype(np.float64)
    predicted = predictions.reshape(truth.shape).astype(np.float64)
    mean = dataset.train.y.reshape(len(dataset.train), -1).mean(axis=0)
    squared, baseline_squared = ((predicted - truth) ** 2).mean(axis=1), ((mean - truth) ** 2).mean(axis=1)
    kept = slice(0, PREDICTION_POINTS)
    return {
        "mse": _mean(squared),
        "mae": float(np.mean(np.abs(predicted - truth))),
        "baseline_mse": _mean(baseline_squared),
        "predictions": {
            "count": len(truth),
            "train_mean": float(mean[0]),
            "true": _rounded(truth[kept, 0]).tolist(),
            "predicted": _rounded(predicted[kept, 0]).tolist(),
        },
        "test_results": _loss_results(squared, baseline_squared),
    }


def sequence_labelling(model: keras.Model, dataset: Dataset, probabilities: np.ndarray) -> dict[str, Any]:
    """The loss over every step, accuracy over the steps that matter (``Dataset.scored_steps``), each
    scored step's accuracy, both beside a guess that never reads the input, and each test sequence's loss
    beside that guess's (``step_frequency_losses``, ``commonest_step_accuracy``).
    """
    y = dataset.test.y
    classes = probabilities.shape[-1]
    first, end = dataset.scored_steps or (0, y.shape[1])
    hits = (probabilities.argmax(axis=-1) == y)[:, first:end]
    shown = slice(first, min(end, first + SHOWN_STEPS))
    predicted = probabilities[:LABELLED_EXAMPLES, shown].argmax(axis=-1)
    losses, baseline_losses = _losses(probabilities, y).mean(axis=1), step_frequency_losses(y, classes)
    return {
        "loss": _mean(losses),
        "accuracy": float(hits.mean()) if hits.size else 0.0,
        "baseline_loss": _mean(baseline_losses),
        "baseline_accuracy": commonest_step_accuracy(dataset.train.y, y, classes, (first, end)),
        "scored_steps": [first, end],
        "step_accuracy": np.round(hits.mean(axis=0), 4).tolist() if len(y) else [0.0] * (end - first),
        "examples": [
            {"index": index, "true": y[index, shown].tolist(), "predicted": predicted[index].tolist()}
            for index in range(len(predicted))
        ],
        "test_results": _loss_results(losses, baseline_losses),
    }


def step_frequency_losses(labels: np.ndarray, classes: int) -> np.ndarray:
    """Each sequence's loss (mean cross-entropy over its steps) when every step is guessed from that
    step's own label frequencies in ``labels``: the lowest any guess that never reads the input reaches.
    """
    shares = _step_counts(labels, classes) / max(len(labels), 1)
    return -np.log(shares[np.arange(labels.shape[1]), labels]).mean(axis=1)


def commonest_step_accuracy(
    train_labels: np.ndarray, test_labels: np.ndarray, classes: int, scored: tuple[int, int]
) -> float:
    """The accuracy over the scored steps of answering each step's commonest training label."""
    first, end = scored
    commonest = _step_counts(train_labels, classes).argmax(axis=1)[first:end]
    scored_labels = test_labels[:, first:end]
    return float(np.mean(scored_labels == commonest)) if scored_labels.size else 0.0


def _step_counts(labels: np.ndarray, classes: int) -> np.ndarray:
    """How often each label occurs at each step: a steps x classes table."""
    steps = labels.shape[1]
    cells = (np.arange(steps) * classes + labels).ravel()
    return np.bincount(cells, minlength=steps * classes).reshape(steps, classes)


EVALUATIONS = {  # by the task's name in core.tasks.registry
    "classification": classification,
    "forecasting": forecasting,
    "language-model": language_model,
    "regression": regression,
    "sequence-labelling": sequence_labelling,
}
