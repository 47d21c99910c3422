"""The tasks registry: what each task asks of a model, and how its results are read and told.

One ``Task`` per task: the output head the builder appends, the loss and Keras metrics it compiles with,
its test-metric columns (and which way each is better), the main metric and the baseline it must beat,
the sentences said of a run that does not beat it, its training defaults and the evaluation lines of the
exported script, the presets and starter model it offers, its previews and notes. Three pieces live
beside the code they need, keyed by the task's name, so that this module imports nothing heavy and the
web process never loads Keras: its evaluation (``core.training.evaluation.EVALUATIONS``, run in a
worker), the check of its metrics (``core.runs.schema.METRICS``) and its Compare panel
(``app_pages.parts.task_panels.PANELS``). Adding a task is one entry here plus those three pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.shapes import Signature

LONGER_TRAINING = {"epochs": 30, "batch_size": 32, "patience": 5}  # small sets: more, smaller steps
METRIC_NAMES = {"loss": "Loss", "mae": "MAE", "accuracy": "Accuracy"}  # a learning curve's metric, titled

GATED_RECURRENT_LAYER = "a gated recurrent layer"  # advice a model with an LSTM or GRU does not get


@dataclass(frozen=True)
class Column:
    """A test metric as a comparison shows it."""

    key: str
    title: str
    higher: bool  # a higher value is better
    in_target_units: bool = False  # its values are in the target's own units (a forecast's errors)


@dataclass(frozen=True)
class Head:
    """The output layer the builder appends: ``Dense(outputs, activation)`` on the model's features, or
    at every time step (``per_step``) of a model that keeps the time axis as long as its input's.
    """

    activation: str
    per_step: bool = False


@dataclass(frozen=True)
class Task:
    """What one task asks of a model, and how its results are read, compared and told."""

    name: str
    head: Head
    loss: str  # as Keras names it
    keras_metrics: tuple[str, ...]
    targets: str  # one sample's target: "class" (an id), "values" (``outputs`` numbers) or "step_classes"
    columns: tuple[Column, ...]  # the test metrics of a comparison, the main one among them
    main: str
    baselines: tuple[tuple[str, str], ...]  # (key, title): what the test split scores without a model
    baseline_of: dict[str, str]  # a test metric -> the baseline beside it; the main one's must be beaten
    script: str  # the exported script's evaluation, printing the main metric last
    found: str  # what a run that did not beat its baseline scored: a template over its metrics and {items}
    told: str  # the baseline it did not beat, a template over its metrics
    advice: tuple[str, ...]  # what to try when a model learned nothing (``compare.table.advice``)
    without_model: str  # the baselines in one sentence, a template over the metrics
    training: dict[str, Any] = field(default_factory=dict)  # training settings that differ from the defaults
    small_set_training: dict[str, Any] = field(default_factory=dict)  # and those for a small training split
    class_weights: bool = False  # the training setting class_weight applies
    example_results: str | None = None  # the per-example test results two runs are compared on, if any
    loss_note: str = ""  # what the training loss is, where its title needs it
    curve_unit: str = ""  # the unit of the learning curves' values where they have one ("scaled")
    presets: str = "by_input"  # the presets offered: "by_input" (images, text, series), "language_model" or
    # "benchmark" (sequence benchmarks, scaled to one parameter budget)
    starter_rnn: str = ""  # the recurrent preset a first visit starts with, where not its modality's own
    preview: str = "samples"  # the Data page's text preview: "samples" (texts with labels) or "corpus"
    upload_modalities: tuple[str, ...] = ()  # uploads (and share links of them) that can hold this task
    small_test_note: bool = False  # Data tells what one test example is worth when the test split is small
    accuracy_by_length: bool = False  # the lesson card reads accuracy by text length from its test results

    @property
    def main_column(self) -> Column:
        return next(column for column in self.columns if column.key == self.main)

    @property
    def baseline(self) -> str:
        """The baseline the main metric must beat."""
        return self.baseline_of[self.main]

    def curve_notes(self, metric: str) -> str:
        """What a learning curve of ``metric`` measures and its unit, where its title needs them."""
        return ", ".join(filter(None, [self.loss_note if metric == "loss" else "", self.curve_unit]))

    def curve_title(self, metric: str) -> str:
        """A learning curve's axis title: the metric, with its notes in brackets ("MAE (scaled)")."""
        name = METRIC_NAMES.get(metric, metric.replace("_", " ").capitalize())
        notes = self.curve_notes(metric)
        return f"{name} ({notes})" if notes else name

    def target_dims(self, signature: Signature) -> tuple[int, ...]:
        """The shape of one sample's target for data of this signature, without the batch axis."""
        return {"class": (), "values": (signature.outputs,), "step_classes": signature.input.dims[:1]}[
            self.targets
        ]

    def beats(self, metrics: dict[str, Any]) -> bool | None:
        """Whether the main test metric is better than its baseline (None where either is missing)."""
        value, baseline = metrics.get(self.main), metrics.get(self.baseline)
        if not _number(value) or not _number(baseline):
            return None
        return value > baseline if self.main_column.higher else value < baseline


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


CLASSIFICATION = Task(
    "classification",
    Head("softmax"),
    "sparse_categorical_crossentropy",
    ("accuracy",),
    "class",
    (Column("accuracy", "Accuracy", True), Column("macro_f1", "Macro F1", True)),
    "accuracy",
    (
        ("majority_accuracy", "Majority acc."),
        ("chance_accuracy", "Chance acc."),
        ("majority_macro_f1", "Majority F1"),
        ("chance_macro_f1", "Chance F1"),
    ),
    {"accuracy": "majority_accuracy", "macro_f1": "majority_macro_f1"},
    script="""
predicted = model.predict(test.x, verbose=0).argmax(axis=1)
print(f"test accuracy {(predicted == test.y).mean():.4f}")
""",
    found="scores {accuracy:.3f} accuracy on the test {items}",
    told="no better than always answering the commonest class ({majority_accuracy:.3f})",
    advice=("more epochs", "a smaller vocabulary", "class weights"),
    without_model=(
        "Without a model: always answering '{majority_class}' scores {majority_accuracy:.3f} accuracy "
        "(macro F1 {majority_macro_f1:.3f}); a uniform guess {chance_accuracy:.3f} ({chance_macro_f1:.3f})."
    ),
    small_set_training=LONGER_TRAINING,
    class_weights=True,
    loss_note="cross-entropy",
    example_results="classes",
    upload_modalities=("images", "text"),
    small_test_note=True,
    accuracy_by_length=True,
)
FORECASTING = Task(
    "forecasting",
    Head("linear"),
    "mse",
    ("mae",),
    "values",
    (
        Column("mae", "MAE", False, in_target_units=True),
        Column("rmse", "RMSE", False, in_target_units=True),
        Column("mape", "MAPE %", False),
    ),
    "mae",
    (("naive_mae", "Naive MAE"),),
    {"mae": "naive_mae"},
    script="""
predicted = dataset.target.unscale(model.predict(test.x, verbose=0), test.x)
truth = dataset.target.unscale(test.y, test.x)
print(f"test mae {np.abs(predicted - truth).mean():.4f}")
""",
    found="has a test MAE of {mae:.4g}",
    told="no better than repeating the last value ({naive_mae:.4g})",
    advice=("more epochs", "another window", "predicting the change"),
    without_model="Without a model: repeating the last value gives a test MAE of {naive_mae:.4g}.",
    training={**LONGER_TRAINING, "batch_size": 16},  # series sets are all small
    example_results="windows",
    loss_note="MSE",
    curve_unit="scaled",
    upload_modalities=("series",),
)
LANGUAGE_MODEL = Task(
    "language-model",
    Head("softmax"),
    "sparse_categorical_crossentropy",
    ("accuracy",),
    "class",
    (Column("accuracy", "Accuracy", True), Column("perplexity", "Perplexity", False)),
    "perplexity",
    (("unigram_perplexity", "Unigram perplexity"),),
    {"perplexity": "unigram_perplexity"},
    script="""
probabilities = model.predict(test.x, verbose=0)
picked = np.clip(probabilities[np.arange(len(test.y)), test.y], 1e-12, 1.0)
print(f"test accuracy {(probabilities.argmax(axis=1) == test.y).mean():.4f}")
print(f"test perplexity {np.exp(-np.log(picked).mean()):.4f}")
""",
    found="has a test perplexity of {perplexity:.3f}",
    told="no better than guessing by character frequency alone ({unigram_perplexity:.3f})",
    advice=("more epochs", "a longer sequence"),
    without_model=(
        "Without a model: guessing by character frequency gives a perplexity of {unigram_perplexity:.3f}."
    ),
    loss_note="cross-entropy",
    presets="language_model",
    starter_rnn="Char-RNN (Keras example)",
    preview="corpus",
    upload_modalities=("text",),
)
REGRESSION = Task(
    "regression",
    Head("linear"),
    "mse",
    ("mae",),
    "values",
    (Column("mse", "MSE", False), Column("mae", "MAE", False)),
    "mse",
    (("baseline_mse", "Baseline MSE"),),
    {"mse": "baseline_mse"},
    script="""
predicted = model.predict(test.x, verbose=0)
print(f"baseline mse (the training mean) {((train.y.mean(axis=0) - test.y) ** 2).mean():.4f}")
print(f"test mse {((predicted - test.y) ** 2).mean():.4f}")
""",
    found="has a test MSE of {mse:.4g}",
    told="no better than always predicting the training mean ({baseline_mse:.4g})",
    advice=("more epochs", GATED_RECURRENT_LAYER, "a convolution that sees the whole input"),
    without_model=(
        "Without a model: always predicting the training mean gives a test MSE of {baseline_mse:.4g}."
    ),
    training={"epochs": 8, "batch_size": 32},
    loss_note="MSE",
    presets="benchmark",
)
SEQUENCE_LABELLING = Task(
    "sequence-labelling",
    Head("softmax", per_step=True),
    "sparse_categorical_crossentropy",
    (),
    "step_classes",
    (Column("loss", "Loss", False), Column("accuracy", "Accuracy (scored steps)", True)),
    "loss",
    (("baseline_loss", "Baseline loss"), ("baseline_accuracy", "Baseline acc.")),
    {"loss": "baseline_loss", "accuracy": "baseline_accuracy"},
    script="""
probabilities = model.predict(test.x, verbose=0)
first, end = dataset.scored_steps or (0, test.y.shape[1])
hits = probabilities.argmax(axis=-1) == test.y
print(f"test accuracy (steps {first} to {end - 1}) {hits[:, first:end].mean():.4f}")
picked = np.take_along_axis(probabilities, test.y[..., None], axis=-1)
print(f"test loss {-np.log(np.clip(picked, 1e-12, 1.0)).mean():.4f}")
""",
    found="has a test loss of {loss:.4g} (accuracy {accuracy:.3f} on the steps that matter)",
    told=(
        "no better than guessing each step from its label frequencies without reading the input "
        "({baseline_loss:.4g})"
    ),
    advice=("more epochs", "a model that reaches back over the whole sequence"),
    without_model=(
        "Without reading the input: each step's label frequencies give a loss of {baseline_loss:.4g} and "
        "an accuracy of {baseline_accuracy:.3f} on the steps that matter."
    ),
    training={"epochs": 8, "batch_size": 32, "clipnorm": 1.0},  # copy_memory: recurrent gradients explode
    loss_note="cross-entropy per step",
    presets="benchmark",
)
TASKS: dict[str, Task] = {
    task.name: task for task in (CLASSIFICATION, FORECASTING, LANGUAGE_MODEL, REGRESSION, SEQUENCE_LABELLING)
}
