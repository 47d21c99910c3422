"""Keras source code for a model, written from the same trace the builder uses."""

from __future__ import annotations

from core.model.trace import Trace
from core.shapes import Signature
from core.tasks.registry import TASKS
from core.tasks.settings import OPTIMIZERS, optimizer_arguments

ROLE_COMMENTS = {"adapter": "  # input adapter", "head": "  # output head"}


def model_code(
    trace: Trace,
    signature: Signature,
    optimizer: str = "adam",
    learning_rate: float = 0.001,
    clipnorm: float = 0.0,
) -> str:
    """A runnable snippet that builds and compiles this model with plain Keras."""
    dtype = ', dtype="int32"' if signature.tokens else ""
    lines = ["import keras", "", f"inputs = keras.Input(shape={signature.input.dims!r}{dtype})", "x = inputs"]
    for role, call in trace.calls:
        lines.append(f"x = {call.render()}(x){ROLE_COMMENTS.get(role, '')}")
    task = TASKS[signature.task]
    arguments = ", ".join(
        f"{key}={value!r}" for key, value in optimizer_arguments(learning_rate, clipnorm).items()
    )
    lines += [
        "model = keras.Model(inputs, x)",
        "model.compile(",
        f"    optimizer=keras.optimizers.{OPTIMIZERS[optimizer]}({arguments}),",
        f"    loss={task.loss!r},",
        f"    metrics={list(task.keras_metrics)!r},",
        ")",
        "model.summary()",
    ]
    return "\n".join(lines) + "\n"
