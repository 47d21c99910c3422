"""Test-split evaluation for each task, in plain JSON-able numbers."""

from __future__ import annotations

import math
from time import perf_counter
from typing import Any

import keras
import numpy as np

from core import budget
from core.datasets import Dataset
from core.disagreement import sample_content

EXAMPLES = 8
FORECAST_POINTS = 600
TEMPERATURES = (0.2, 0.5, 1.0)
GENERATED_CHARACTERS = 160


def evaluate(model: keras.Model, dataset: Dataset, batch_size: int) -> dict[str, Any]:
    """Predict the test split once; return the task's metrics and the latency per sample."""
    x, y = dataset.test.x, dataset.test.y
    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)  # warm-up: trace once
    start = perf_counter()
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    latency_ms = 1000 * (perf_counter() - start) / max(len(x), 1)
    task = dataset.signature.task
    if task == "forecasting":
        metrics = _forecasting(dataset, predictions)
    else:
        metrics = _classification(dataset, predictions, y)
        if task == "language-model":
            metrics = _language_model(model, dataset, metrics)
    return {**metrics, "latency_ms": latency_ms}


def _crossentropy(probabilities: np.ndarray, y: np.ndarray) -> float:
    picked = probabilities[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def _classification(dataset: Dataset, probabilities: np.ndarray, y: np.ndarray) -> dict[str, Any]:
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
    if dataset.signature.task == "language-model":
        return metrics
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
    kept = min(len(y), budget.TEST_RESULT_VALUES // 3)
    metrics["test_results"] = {  # example by example, for comparing two runs on the same split
        "count": len(y),
        "true": y[:kept].tolist(),
        "predicted": predicted[:kept].tolist(),
        "confidence": np.round(confidence[:kept].astype(np.float64), 3).tolist(),
    }
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


def _forecasting(dataset: Dataset, predictions: np.ndarray) -> dict[str, Any]:
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


def _language_model(model: keras.Model, dataset: Dataset, metrics: dict[str, Any]) -> dict[str, Any]:
    length = dataset.signature.input.dims[0]
    seed_text = dataset.test_texts[0][:length] if dataset.test_texts else ""
    index = {char: i for i, char in enumerate(dataset.vocabulary)}
    seed_ids = [index.get(char, 0) for char in seed_text]
    texts = generate(model, dataset, seed_ids, TEMPERATURES, np.random.default_rng(0))
    samples = [{"temperature": t, "text": text} for t, text in zip(TEMPERATURES, texts, strict=True)]
    return {
        **metrics,
        "perplexity": float(math.exp(metrics["loss"])),
        "unigram_perplexity": _unigram_perplexity(dataset.train.y, dataset.test.y, dataset.signature.outputs),
        "seed_text": seed_text,
        "samples": samples,
    }


def _unigram_perplexity(train_targets: np.ndarray, test_targets: np.ndarray, vocabulary: int) -> float:
    """The perplexity of predicting each next token by its training frequency alone (add-one smoothed)."""
    counts = np.bincount(train_targets, minlength=vocabulary) + 1.0
    probabilities = counts / counts.sum()
    return float(np.exp(-np.mean(np.log(probabilities[test_targets])))) if len(test_targets) else math.nan


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
