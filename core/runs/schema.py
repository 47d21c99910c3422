"""The shape of a run record's parts (test metrics by task, per-epoch history), checked whole.

A record from outside (an imported bundle) must pass these checks before it is stored: whatever the
Compare page reads from it is then of the type and size it expects. Each failure is one sentence
naming the field, e.g. ``metrics.confusion_matrix[2] must be a list of at most 1,000 items.``
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from core import budget
from core.errors import UserError
from core.shapes import FEATURES, IMAGE, SEQUENCE, TOKENS
from core.tasks.registry import TASKS

Check = Callable[[Any, str], None]  # raises UserError naming the path when the value does not fit

MAX_CLASSES = 1000
MAX_EXAMPLES = 50
MAX_POINTS = 5000
MAX_IMAGE_SIDE = 64
MAX_EPOCHS = 1000
MAX_STEPS = 4096  # time steps of one epoch's input-gradient profile (core.compare.memory)
MEMORY_KEYS = ("receptive_field", "memory_horizon")  # metrics of every task (core.compare.memory)
MAX_TOKENS = 100_000  # tokens one text keeps
MAX_SHOWN_STEPS = 100  # labels of one example sequence, as kept to show
MOST_WHOLE = 2**53  # whole numbers beyond this lose digits as floats
HISTORY_NEEDS = ("epoch", "seconds", "wall_seconds", "samples_per_second")


def _fail(path: str, expected: str) -> None:
    raise UserError(f"{path} must be {expected}.")


def number(low: float = -math.inf, high: float = math.inf, finite: bool = True) -> Check:
    expected = "a finite number" if finite else "a number"
    if low > -math.inf:
        expected += f" from {low:g}" + (f" to {high:g}" if high < math.inf else " up")

    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, expected)
        if isinstance(value, int) and abs(value) > MOST_WHOLE:  # beyond a float: isnan() would overflow
            _fail(path, expected)
        if math.isnan(value) and not finite:
            return
        if (finite and not math.isfinite(value)) or not low <= value <= high:
            _fail(path, expected)

    return check


def whole(low: int = 0, high: int = 10**12) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            _fail(path, f"a whole number from {low:,} to {high:,}")

    return check


def text(limit: int) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, str) or len(value) > limit:
            _fail(path, f"a text of at most {limit:,} characters")

    return check


def items(item: Check, limit: int) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, list) or len(value) > limit:
            _fail(path, f"a list of at most {limit:,} items")
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]")

    return check


def table(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """An object whose keys are among ``fields`` (each value checked) and hold ``required``."""

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            _fail(path, "an object")
        unknown = sorted(key for key in value if key not in fields)
        if unknown:
            _fail(f"{path}.{str(unknown[0])[:40]}", f"one of the known fields of {path}")
        for key in required:
            if key not in value:
                _fail(f"{path}.{key}", "present")
        for key, element in value.items():
            fields[key](element, f"{path}.{key}")

    return check


def pixels(value: Any, path: str) -> None:
    """An image as nested lists: height x width x channels whole numbers from 0 to 255, small."""
    expected = f"an image of at most {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE} pixels of 1 to 4 channels (0-255)"
    rows = items(items(items(whole(0, 255), 4), MAX_IMAGE_SIDE), MAX_IMAGE_SIDE)
    try:
        rows(value, path)
    except UserError:
        _fail(path, expected)
    widths = {len(row) for row in value}
    channels = {len(pixel) for row in value for pixel in row}
    if not value or len(widths) != 1 or 0 in widths or len(channels) != 1 or 0 in channels:
        _fail(path, expected)


def _square(names_key: str, matrix_key: str) -> Callable[[dict[str, Any], str], None]:
    """A cross-check: the matrix is n x n where n is the number of names."""

    def check(metrics: dict[str, Any], path: str) -> None:
        size = len(metrics[names_key])
        matrix = metrics[matrix_key]
        if len(matrix) != size or any(len(row) != size for row in matrix):
            _fail(f"{path}.{matrix_key}", f"a {size} x {size} table, one row and column per class")
        if len(metrics.get("per_class", [None] * size)) != size:
            _fail(f"{path}.per_class", f"a list of {size} classes")

    return check


def _aligned(metrics: dict[str, Any], path: str) -> None:
    forecast = metrics["forecast"]
    lengths = {len(forecast[key]) for key in ("time", "truth", "predicted", "naive")}
    if len(lengths) != 1:
        _fail(f"{path}.forecast", "four lists of the same length (time, truth, predicted, naive)")


def _example_results(metrics: dict[str, Any], path: str) -> None:
    """A cross-check: one true class, prediction and confidence per kept example, classes that exist."""
    results = metrics.get("test_results")
    if results is None:
        return
    kept = len(results["true"])
    if not len(results["predicted"]) == len(results["confidence"]) == kept <= results["count"]:
        _fail(f"{path}.test_results", "three lists of the same length (true, predicted, confidence)")
    if "length" in results and len(results["length"]) != kept:
        _fail(f"{path}.test_results.length", "one token count per kept example")
    classes = len(metrics["class_names"])
    if any(label >= classes for label in (*results["true"], *results["predicted"])):
        _fail(f"{path}.test_results", f"classes numbered below {classes}")


def _window_results(metrics: dict[str, Any], path: str) -> None:
    """A cross-check: one error and one forecast of ``horizon`` values per kept window, and the target's
    values the kept windows span, all within the budget.
    """
    results = metrics.get("test_results")
    if results is None:
        return
    kept, horizon = len(results["error"]), results["horizon"]
    spanned = kept + results["window"] + horizon - 1
    if not 1 <= kept <= results["count"] or kept * (horizon + 2) > budget.TEST_RESULT_VALUES:
        _fail(f"{path}.test_results.error", f"1 to {budget.TEST_RESULT_VALUES // (horizon + 2):,} errors")
    if len(results["predicted"]) != kept or any(len(row) != horizon for row in results["predicted"]):
        _fail(f"{path}.test_results.predicted", f"{kept:,} forecasts of {horizon} values each")
    if len(results["series"]) != spanned:
        _fail(f"{path}.test_results.series", f"the {spanned:,} values the windows span")


def _loss_results(metrics: dict[str, Any], path: str) -> None:
    """A cross-check: one loss of the model and one of the baseline per kept example."""
    results = metrics.get("test_results")
    if results is None:
        return
    if not len(results["loss"]) == len(results["baseline_loss"]) <= results["count"]:
        _fail(
            f"{path}.test_results", "two lists of the same length (loss, baseline_loss), one per kept example"
        )


SCORE = number(0, 1)
COST = number(0)
CLASS = text(200)
KEPT = budget.TEST_RESULT_VALUES  # at most this many numbers per run, counted by the cross-checks
LOSS_RESULTS = table(  # each kept test example's loss under the model and under the task's baseline
    {"count": whole(), "loss": items(COST, KEPT // 2), "baseline_loss": items(COST, KEPT // 2)},
    ("count", "loss", "baseline_loss"),
)
CLASSIFICATION = table(
    {
        "accuracy": SCORE,
        "loss": COST,
        "macro_f1": SCORE,
        "latency_ms": COST,
        "per_class": items(
            table(
                {"class": CLASS, "precision": SCORE, "recall": SCORE, "f1": SCORE, "support": whole()},
                ("class", "precision", "recall", "f1", "support"),
            ),
            MAX_CLASSES,
        ),
        "confusion_matrix": items(items(whole(), MAX_CLASSES), MAX_CLASSES),
        "class_names": items(CLASS, MAX_CLASSES),
        "majority_class": CLASS,
        "majority_accuracy": SCORE,
        "majority_macro_f1": SCORE,
        "chance_accuracy": SCORE,
        "chance_macro_f1": SCORE,
        "top_prediction": CLASS,
        "top_prediction_share": SCORE,
        "examples": items(
            table(
                {
                    "index": whole(),
                    "true": CLASS,
                    "predicted": CLASS,
                    "confidence": SCORE,
                    "text": text(2000),
                    "image": pixels,
                },
                ("true", "predicted", "confidence"),
            ),
            MAX_EXAMPLES,
        ),
        "test_results": table(
            {
                "count": whole(),
                "true": items(whole(0, MAX_CLASSES - 1), KEPT // 3),
                "predicted": items(whole(0, MAX_CLASSES - 1), KEPT // 3),
                "confidence": items(SCORE, KEPT // 3),
                "length": items(whole(0, MAX_TOKENS), KEPT // 4),  # text: tokens each example kept
            },
            ("count", "true", "predicted", "confidence"),
        ),
    },
    ("accuracy", "class_names", "confusion_matrix"),
)
SERIES = items(number(), MAX_POINTS)
FORECASTING = table(
    {
        **{key: COST for key in ("mae", "rmse", "naive_mae", "naive_rmse", "latency_ms")},
        **{key: number(0, finite=False) for key in ("mape", "naive_mape")},
        "forecast": table(
            {
                "time": items(text(40), MAX_POINTS),
                "truth": SERIES,
                "predicted": SERIES,
                "naive": SERIES,
                "target": text(200),
                "points": whole(),
            },
            ("time", "truth", "predicted", "naive", "target"),
        ),
        "test_results": table(
            {
                "count": whole(),
                "window": whole(1, KEPT),
                "horizon": whole(1, KEPT),
                "error": items(COST, KEPT // 3),
                "predicted": items(items(number(), KEPT // 3), KEPT // 3),
                "series": items(number(), KEPT),
            },
            ("count", "window", "horizon", "error", "predicted", "series"),
        ),
    },
    ("mae", "naive_mae", "forecast"),
)
LANGUAGE_MODEL = table(
    {
        "accuracy": SCORE,
        "loss": COST,
        "perplexity": number(1),
        "unigram_perplexity": number(1),
        "latency_ms": COST,
        "seed_text": text(2000),
        "samples": items(
            table({"temperature": number(0, 10), "text": text(5000)}, ("temperature", "text")), 10
        ),
        "test_results": LOSS_RESULTS,
    },
    ("perplexity",),
)
REGRESSION = table(
    {
        **{key: COST for key in ("mse", "mae", "baseline_mse", "latency_ms")},
        "predictions": table(
            {"count": whole(), "train_mean": number(), "true": SERIES, "predicted": SERIES},
            ("count", "train_mean", "true", "predicted"),
        ),
        "test_results": LOSS_RESULTS,
    },
    ("mse", "mae", "baseline_mse", "predictions"),
)
STEP_LABELS = items(whole(0, MAX_CLASSES - 1), MAX_SHOWN_STEPS)
SEQUENCE_LABELLING = table(
    {
        **{key: COST for key in ("loss", "baseline_loss", "latency_ms")},
        **{key: SCORE for key in ("accuracy", "baseline_accuracy")},
        "scored_steps": items(whole(0, MAX_POINTS), 2),
        "step_accuracy": items(SCORE, MAX_POINTS),
        "examples": items(
            table({"index": whole(), "true": STEP_LABELS, "predicted": STEP_LABELS}, ("true", "predicted")),
            MAX_EXAMPLES,
        ),
        "test_results": LOSS_RESULTS,
    },
    ("loss", "accuracy", "baseline_loss", "baseline_accuracy", "scored_steps", "step_accuracy"),
)


def _paired(metrics: dict[str, Any], path: str) -> None:
    """A cross-check: as many predictions as true values, no more than the test split holds."""
    predictions = metrics["predictions"]
    if not len(predictions["true"]) == len(predictions["predicted"]) <= predictions["count"]:
        _fail(f"{path}.predictions", "two lists of the same length (true, predicted), one per test sample")


def _scored(metrics: dict[str, Any], path: str) -> None:
    """A cross-check: one accuracy per scored step, and each example's labels over at most those steps."""
    steps = metrics["scored_steps"]
    if len(steps) != 2 or not steps[0] < steps[1] or steps[1] - steps[0] != len(metrics["step_accuracy"]):
        _fail(f"{path}.scored_steps", "the first and the end of the scored steps, one accuracy each")
    for example in metrics.get("examples", []):
        if len(example["true"]) != len(example["predicted"]):
            _fail(f"{path}.examples", "true and predicted labels of the same length")


METRICS = {  # by the task's name in core.tasks.registry: (its check, cross-checks between fields)
    "classification": (CLASSIFICATION, [_square("class_names", "confusion_matrix"), _example_results]),
    "forecasting": (FORECASTING, [_aligned, _window_results]),
    "language-model": (LANGUAGE_MODEL, [_loss_results]),
    "regression": (REGRESSION, [_paired, _loss_results]),
    "sequence-labelling": (SEQUENCE_LABELLING, [_scored, _loss_results]),
}


def check_metrics(task: str, metrics: Any, path: str = "metrics") -> None:
    """Test metrics of a run of ``task``: empty (not evaluated) or complete and well-formed."""
    if metrics == {}:
        return
    check, cross_checks = METRICS[TASKS[task].name]
    if isinstance(metrics, dict):  # the memory keys are the same for every task: checked apart
        MEMORY({key: value for key, value in metrics.items() if key in MEMORY_KEYS}, path)
        metrics = {key: value for key, value in metrics.items() if key not in MEMORY_KEYS}
    check(metrics, path)
    for cross_check in cross_checks:
        cross_check(metrics, path)


def check_history(history: Any, path: str = "history") -> None:
    """Per-epoch entries of named finite numbers, numbered upwards from 1, with their timings, and
    input-gradient profiles of one length.
    """
    items(_epoch_entry, MAX_EPOCHS)(history, path)
    if len({len(epoch["input_gradient"]) for epoch in history if "input_gradient" in epoch}) > 1:
        _fail(f"{path}", "epochs whose input_gradient profiles are of one length, one value per input step")
    numbers = [epoch["epoch"] for epoch in history]
    if numbers != list(range(1, len(numbers) + 1)):
        _fail(f"{path}", "epochs numbered 1, 2, 3 … in order")


def _epoch_entry(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        _fail(path, "an object")
    for key in HISTORY_NEEDS:
        if key not in value:
            _fail(f"{path}.{key}", "present")
    for key, element in value.items():
        if not isinstance(key, str) or len(key) > 40:
            _fail(path, "an object of short metric names")
        (HISTORY_FIELDS.get(key) or number())(element, f"{path}.{key}")


def optional(check: Check) -> Check:
    """None, or a value that passes ``check``."""

    def check_optional(value: Any, path: str) -> None:
        if value is not None:
            check(value, path)

    return check_optional


def one_of(*choices: str) -> Check:
    def check(value: Any, path: str) -> None:
        if value not in choices:
            _fail(path, "one of " + ", ".join(choices))

    return check


OPTIONAL_COST = optional(COST)
BASIS = {  # what an estimate was made from, all required
    "multiply_adds": whole(),
    "sequential_steps": whole(),
    "train_samples": whole(),
    "validation_samples": whole(),
    "batch_size": whole(1, 2048),
    "epochs": whole(1, MAX_EPOCHS),
}
ESTIMATE = table(  # core.runs.estimates: the cost estimated before training, and the peak memory measured
    {
        "source": optional(one_of("calibration", "history")),
        "seconds_per_epoch": OPTIONAL_COST,
        "total_seconds": OPTIONAL_COST,
        "peak_memory_mb": OPTIONAL_COST,
        "measured_peak_memory_mb": OPTIONAL_COST,
        "steps_per_execution": whole(1, 10**6),  # batches per call into TensorFlow, chosen from the estimate
        "candidates": table({"calibration": COST, "history": COST}),
        "basis": table(BASIS, tuple(BASIS)),
    },
    ("source", "seconds_per_epoch", "total_seconds", "peak_memory_mb", "candidates", "basis"),
)


def _profile(value: Any, path: str) -> None:
    """An epoch's input-gradient profile: 1 to MAX_STEPS gradient norms, each finite and not negative."""
    expected = f"a list of 1 to {MAX_STEPS:,} gradient norms, each a finite number from 0 up"
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_STEPS:
        _fail(path, expected)
    for index, norm in enumerate(value):
        number(0)(norm, f"{path}[{index}]")


HISTORY_FIELDS = {  # history entries' fields other than named finite numbers
    "epoch": whole(1, MAX_EPOCHS),
    "input_gradient": _profile,  # core.compare.memory: one gradient norm per input step
}
MEMORY = table({"receptive_field": optional(whole(1)), "memory_horizon": whole(0, MAX_STEPS)})


def check_estimate(estimate: Any, path: str = "estimate") -> None:
    """A run's cost estimate: none, or every field of ``core.runs.estimates.estimate`` within its bounds."""
    optional(ESTIMATE)(estimate, path)


LAYOUTS = (IMAGE, SEQUENCE, TOKENS, FEATURES)
LARGEST_DIM = 100_000  # of one input axis, as share links allow
SIGNATURE = table(  # core.shapes.Signature.to_dict: the data's shape as a run record keeps it
    {
        "axes": items(one_of(*sorted({axis for layout in LAYOUTS for axis in layout})), 3),
        "dims": items(whole(1, LARGEST_DIM), 3),
        "task": one_of(*TASKS),
        "outputs": whole(1, budget.DATASET_VALUES),
        "vocab_size": whole(0, budget.DATASET_VALUES),
    },
    ("axes", "dims", "task", "outputs", "vocab_size"),
)


def check_signature(signature: Any, task: str, path: str = "signature") -> None:
    """A run's data signature: none (kept before version 2), or a known layout of matching dimensions
    for the run's own task."""
    if signature is None:
        return
    SIGNATURE(signature, path)
    if tuple(signature["axes"]) not in LAYOUTS or len(signature["dims"]) != len(signature["axes"]):
        _fail(f"{path}.axes", "a known layout with one dimension per axis")
    if signature["task"] != task:
        _fail(f"{path}.task", f"the run's own task, {task}")
