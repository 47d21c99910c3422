"""Ready-made models for each kind of input: CNN, RNNs, a hybrid and a dilated causal CNN."""

from __future__ import annotations

from core.shapes import IMAGE, Signature
from core.spec import ModelSpec
from core.trace import trace_model

Layer = dict


def _conv1d(filters: int, kernel: int, **extra) -> Layer:
    return {"kind": "Conv1D", "filters": filters, "kernel_size": kernel, **extra}


def _tcn(filters: int = 32, depth: int = 4) -> list[Layer]:
    return [_conv1d(filters, 3, padding="causal", dilation_rate=2**i) for i in range(depth)]


def _embedding(dim: int = 32) -> list[Layer]:
    return [{"kind": "Embedding", "output_dim": dim}]


IMAGE_PRESETS = {
    "CNN": [
        {"kind": "Conv2D", "filters": 32, "kernel_size": 3, "padding": "same"},
        {"kind": "MaxPooling2D", "pool_size": 2},
        {"kind": "Conv2D", "filters": 64, "kernel_size": 3, "padding": "same"},
        {"kind": "MaxPooling2D", "pool_size": 2},
        {"kind": "Flatten"},
        {"kind": "Dropout", "rate": 0.3},
    ],
    "SimpleRNN": [{"kind": "SimpleRNN", "units": 64}],
    "LSTM": [{"kind": "LSTM", "units": 64}],
    "GRU": [{"kind": "GRU", "units": 64}],
    "Bidirectional LSTM": [{"kind": "Bidirectional", "layer": "LSTM", "units": 32}],
    "CNN+LSTM": [
        _conv1d(32, 3, padding="same"),
        {"kind": "MaxPooling1D", "pool_size": 2},
        {"kind": "LSTM", "units": 64},
    ],
}

TEXT_PRESETS = {
    "CNN": [
        *_embedding(),
        _conv1d(64, 5, padding="same"),
        {"kind": "GlobalMaxPooling1D"},
        {"kind": "Dropout", "rate": 0.3},
    ],
    # reading every step's state through a max-pool spares a SimpleRNN its vanishing gradients
    "SimpleRNN": [
        *_embedding(),
        {"kind": "SimpleRNN", "units": 64, "return_sequences": True},
        {"kind": "GlobalMaxPooling1D"},
    ],
    "LSTM": [*_embedding(), {"kind": "LSTM", "units": 64}],
    "GRU": [*_embedding(), {"kind": "GRU", "units": 64}],
    "Bidirectional LSTM": [*_embedding(), {"kind": "Bidirectional", "layer": "LSTM", "units": 32}],
    "CNN+LSTM": [
        *_embedding(),
        _conv1d(64, 5, padding="same"),
        {"kind": "MaxPooling1D", "pool_size": 2},
        {"kind": "LSTM", "units": 64},
    ],
    "Dilated causal CNN (TCN)": [*_embedding(), *_tcn(), {"kind": "GlobalMaxPooling1D"}],
}

LANGUAGE_MODEL_PRESETS = {
    "Char-RNN (Keras example)": [*_embedding(), {"kind": "SimpleRNN", "units": 128}],
    "CNN": [
        *_embedding(),
        _conv1d(64, 5, padding="same"),
        {"kind": "MaxPooling1D", "pool_size": 2},
        _conv1d(64, 5, padding="same"),
        {"kind": "Flatten"},
        {"kind": "Dense", "units": 128},
    ],
    "LSTM": [*_embedding(), {"kind": "LSTM", "units": 128}],
    "GRU": [*_embedding(), {"kind": "GRU", "units": 128}],
    "CNN+LSTM": [*_embedding(), _conv1d(64, 5, padding="causal"), {"kind": "LSTM", "units": 128}],
    "Dilated causal CNN (TCN)": [*_embedding(), *_tcn(64, 5), {"kind": "Flatten"}],
}

SERIES_PRESETS = {
    "CNN": [
        _conv1d(32, 3),
        {"kind": "MaxPooling1D", "pool_size": 2},
        _conv1d(32, 3),
        {"kind": "Flatten"},
        {"kind": "Dropout", "rate": 0.3},
    ],
    "SimpleRNN": [{"kind": "SimpleRNN", "units": 32}],
    "Stacked LSTM (Keras example)": [
        {"kind": "LSTM", "units": 50, "return_sequences": True},
        {"kind": "LSTM", "units": 50},
    ],
    "GRU": [{"kind": "GRU", "units": 32}],
    "CNN+LSTM": [_conv1d(32, 3, padding="causal"), {"kind": "LSTM", "units": 32}],
    "Dilated causal CNN (TCN)": [*_tcn(), {"kind": "Flatten"}],
}


def _presets_for(signature: Signature) -> dict[str, list[Layer]]:
    if signature.input.axes == IMAGE:
        return IMAGE_PRESETS
    if signature.task == "language-model":
        return LANGUAGE_MODEL_PRESETS
    if signature.tokens:
        return TEXT_PRESETS
    return SERIES_PRESETS


def presets_for(signature: Signature) -> dict[str, ModelSpec]:
    """The presets that fit this input, each checked against it (invalid ones are left out)."""
    specs = {
        name: ModelSpec.from_dict({"name": name, "layers": layers})
        for name, layers in _presets_for(signature).items()
    }
    return {name: spec for name, spec in specs.items() if trace_model(spec, signature).ok}


def preset(name: str, signature: Signature) -> ModelSpec | None:
    return presets_for(signature).get(name)
