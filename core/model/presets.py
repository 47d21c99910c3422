"""Ready-made models for each kind of input: CNN, RNNs, a hybrid and a dilated causal CNN; for the
sequence benchmarks, a TCN whose receptive field covers the sequence and three RNNs, all of about the
same parameter count.
"""

from __future__ import annotations

from core.errors import UserError
from core.model.layers import KINDS
from core.model.param_match import match_params
from core.model.spec import ModelSpec
from core.model.trace import trace_model
from core.shapes import IMAGE, SEQUENCE, Signature
from core.tasks.registry import TASKS

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


BENCHMARK_PARAMS = 12_000  # each sequence-benchmark preset is scaled to about this many parameters
TCN_KERNEL = 3


def tcn_dilations(steps: int, kernel: int = TCN_KERNEL) -> list[int]:
    """Dilations 1, 2, 4 ... (each at most the layer's largest) of causal layers whose receptive field,
    ``1 + (kernel - 1) * sum(dilations)`` steps, covers ``steps``.
    """
    largest = int(next(param.max for param in KINDS["Conv1D"].params if param.name == "dilation_rate"))
    dilations: list[int] = []
    while 1 + (kernel - 1) * sum(dilations) < steps:
        dilations.append(min(2 ** len(dilations), largest))
    return dilations or [1]


def _benchmark_layers(signature: Signature) -> dict[str, list[Layer]]:
    """A TCN covering the whole input and three RNNs; every step labelled or the sequence summed up."""
    per_step = TASKS[signature.task].head.per_step
    tcn = [
        _conv1d(32, TCN_KERNEL, padding="causal", dilation_rate=dilation)
        for dilation in tcn_dilations(signature.input.dims[0])
    ]
    return {
        "Dilated causal CNN (TCN)": tcn if per_step else [*tcn, {"kind": "GlobalAveragePooling1D"}],
        **{
            kind: [{"kind": kind, "units": 64, "return_sequences": per_step}]
            for kind in ("LSTM", "GRU", "SimpleRNN")
        },
    }


def _benchmark(signature: Signature) -> bool:
    """A sequence benchmark: a task that says so (a label at every step, one number from a sequence), or
    a class from a sequence of values (an image read pixel by pixel), rather than forecasting, text or
    images.
    """
    task = TASKS[signature.task]
    from_values = signature.input.axes == SEQUENCE and task.targets == "class"
    return task.presets == "benchmark" or from_values


def _presets_for(signature: Signature) -> dict[str, list[Layer]]:
    if signature.input.axes == IMAGE:
        return IMAGE_PRESETS
    if TASKS[signature.task].presets == "language_model":
        return LANGUAGE_MODEL_PRESETS
    if _benchmark(signature):
        return _benchmark_layers(signature)
    if signature.tokens:
        return TEXT_PRESETS
    return SERIES_PRESETS


def presets_for(signature: Signature) -> dict[str, ModelSpec]:
    """The presets that fit this input, each checked against it (invalid ones are left out); those of a
    sequence benchmark scaled to about ``BENCHMARK_PARAMS`` parameters each.
    """
    specs = {
        name: ModelSpec.from_dict({"name": name, "layers": layers})
        for name, layers in _presets_for(signature).items()
    }
    valid = {name: spec for name, spec in specs.items() if trace_model(spec, signature).ok}
    if _benchmark(signature):
        return {name: _matched(spec, signature) for name, spec in valid.items()}
    return valid


def _matched(spec: ModelSpec, signature: Signature) -> ModelSpec:
    """The spec scaled to ``BENCHMARK_PARAMS`` parameters, or as it is where this server's caps forbid it."""
    try:
        return match_params(spec, signature, BENCHMARK_PARAMS).spec
    except UserError:
        return spec


def preset(name: str, signature: Signature) -> ModelSpec | None:
    return presets_for(signature).get(name)
