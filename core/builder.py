"""Turn a validated model spec into a ``keras.Model`` for a dataset's signature."""

from __future__ import annotations

import keras

from core.layers import LayerCall
from core.shapes import Signature
from core.spec import ModelSpec
from core.trace import Limits, validate

LOSSES = {
    "classification": ("sparse_categorical_crossentropy", ["accuracy"]),
    "language-model": ("sparse_categorical_crossentropy", ["accuracy"]),
    "forecasting": ("mse", ["mae"]),
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}


def instantiate(call: LayerCall) -> keras.layers.Layer:
    args = [instantiate(a) if isinstance(a, LayerCall) else a for a in call.args]
    return getattr(keras.layers, call.cls)(*args, **call.kwargs)


def build_model(spec: ModelSpec, signature: Signature, limits: Limits | None = None) -> keras.Model:
    """Validate first (raising SpecError with every problem), then build input, adapters, layers, head."""
    trace = validate(spec, signature, limits)
    dtype = "int32" if signature.tokens else "float32"
    inputs = keras.Input(shape=signature.input.dims, dtype=dtype, name="input")
    outputs = inputs
    for _, call in trace.calls:
        outputs = instantiate(call)(outputs)
    return keras.Model(inputs, outputs, name="model")


def compile_model(model: keras.Model, task: str, optimizer: str, learning_rate: float) -> None:
    loss, metrics = LOSSES[task]
    optimizer_class = getattr(keras.optimizers, OPTIMIZERS[optimizer])
    model.compile(optimizer=optimizer_class(learning_rate=learning_rate), loss=loss, metrics=metrics)
