"""Turn a validated model spec into a ``keras.Model`` for a dataset's signature."""

from __future__ import annotations

import keras

from core.model.layers import LayerCall
from core.model.spec import ModelSpec
from core.model.trace import Limits, validate
from core.shapes import Signature
from core.tasks.registry import TASKS
from core.tasks.settings import OPTIMIZERS, optimizer_arguments


def instantiate(call: LayerCall, name: str) -> keras.layers.Layer:
    """Create the layer a call describes, with an explicit name (and its wrapped layer's too)."""
    args = [instantiate(a, f"{name}_inner") if isinstance(a, LayerCall) else a for a in call.args]
    return getattr(keras.layers, call.cls)(*args, name=name, **call.kwargs)


def build_model(spec: ModelSpec, signature: Signature, limits: Limits | None = None) -> keras.Model:
    """Validate first (raising SpecError with every problem), then build input, adapters, layers, head."""
    trace = validate(spec, signature, limits)
    dtype = "int32" if signature.tokens else "float32"
    inputs = keras.Input(shape=signature.input.dims, dtype=dtype, name="input")
    outputs = inputs
    for index, (role, call) in enumerate(trace.calls, start=1):
        outputs = instantiate(call, f"{index}_{role}_{call.cls.lower()}")(outputs)
    return keras.Model(inputs, outputs, name="model")


def compile_model(
    model: keras.Model,
    task: str,
    optimizer: str,
    learning_rate: float,
    clipnorm: float = 0.0,
    steps_per_execution: int = 1,
) -> None:
    """Compile with the task's loss and Keras metrics (``core.tasks.registry``); a ``clipnorm`` above 0
    clips each gradient to that norm; ``steps_per_execution`` batches run per call into TensorFlow.
    """
    entry = TASKS[task]
    optimizer_class = getattr(keras.optimizers, OPTIMIZERS[optimizer])
    model.compile(
        optimizer=optimizer_class(**optimizer_arguments(learning_rate, clipnorm)),
        loss=entry.loss,
        metrics=list(entry.keras_metrics),
        steps_per_execution=steps_per_execution,
    )
