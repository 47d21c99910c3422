"""The layer registry: the one source for widgets, validation, building and code export."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.params import Param, ParamValues
from core.shapes import FEATURES, IMAGE, SEQUENCE, TOKENS, Shape

ANY_DENSE_INPUT = (FEATURES, SEQUENCE, IMAGE)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "elu", "linear")
RECURRENT = ("SimpleRNN", "LSTM", "GRU")


class ShapeProblem(ValueError):
    """A layer cannot take the shape it is given; the message is the reason."""


@dataclass(frozen=True)
class LayerCall:
    """A Keras layer constructor call as plain data: class name, positional and keyword args."""

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def render(self, prefix: str = "keras.layers.") -> str:
        """The call as Python source, e.g. ``keras.layers.LSTM(50, return_sequences=True)``."""
        parts = [_render_value(a, prefix) for a in self.args]
        parts += [f"{key}={_render_value(value, prefix)}" for key, value in self.kwargs.items()]
        return f"{prefix}{self.cls}({', '.join(parts)})"


def _render_value(value: Any, prefix: str) -> str:
    return value.render(prefix) if isinstance(value, LayerCall) else repr(value)


@dataclass(frozen=True)
class Reach:
    """What one output position of a layer sees of its input along the time axis (for 2-D layers,
    along each image axis).
    """

    extent: int = 1  # consecutive input positions one output position is computed from
    stride: int = 1  # input positions between two neighbouring output positions
    unbounded: bool = False  # every earlier step: a recurrent layer's state carries them all
    collapses: bool = False  # its output combines every position (Flatten, global pooling)


POINTWISE = Reach()

KEEPS, USES, DROPS = "keeps", "uses", "drops"  # what a layer does with a padding mask (measured in Keras 3)
MASK_EFFECTS = {
    KEEPS: "skips padded steps and passes the mask on",
    USES: "skips padded steps; the mask ends here with the time axis",
    DROPS: "drops the padding mask: reads padded steps as if they were text, and later layers do too",
}


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer: its parameters, accepted inputs, shape rule, parameter count, Keras call."""

    name: str
    category: str  # convolution, pooling, recurrent, embedding, dense, regularization, reshape
    description: str
    params: tuple[Param, ...]
    accepts: tuple[tuple[str, ...], ...]
    output: Callable[[Shape, ParamValues], Shape]
    weights: Callable[[Shape, ParamValues], int]
    call: Callable[[ParamValues], LayerCall]
    context: tuple[str, ...] = ()  # values taken from the dataset, e.g. the vocabulary size
    widths: tuple[str, ...] = ()  # the params that set its width (units, filters), scaled to match sizes
    reach: Callable[[ParamValues], Reach] = lambda p: POINTWISE  # how far it looks along time
    masking: Callable[[ParamValues], str] = lambda p: DROPS  # what it does with a padding mask

    @property
    def family(self) -> str | None:
        return {"convolution": "cnn", "recurrent": "rnn"}.get(self.category)


# ---- parameter definitions reused by several kinds ----------------------------------------


def _units(default: int, help_text: str = "Number of units (the width of the output).") -> Param:
    return Param("units", "int", default, help_text, 1, 4096)


FILTERS = Param("filters", "int", 32, "Number of filters (output channels).", 1, 2048)
KERNEL = Param("kernel_size", "int", 3, "Width of the convolution window.", 1, 64)
STRIDES = Param("strides", "int", 1, "Step between windows.", 1, 16)
DILATION = Param("dilation_rate", "int", 1, "Spacing between kernel taps (1 = none).", 1, 256)
ACTIVATION = Param(
    "activation", "choice", "relu", "Non-linearity applied to the output.", choices=ACTIVATIONS
)
POOL = Param("pool_size", "int", 2, "Width of the pooling window.", 1, 64)
POOL_STRIDES = Param("strides", "int", 0, "Step between windows (0 = the pool size).", 0, 64)
PADDING = Param(
    "padding", "choice", "valid", "valid: no padding; same: keep the length.", choices=("valid", "same")
)
RETURN_SEQUENCES = Param(
    "return_sequences", "bool", False, "Output every time step (needed before another recurrent layer)."
)
RNN_ACTIVATION = Param(
    "activation", "choice", "tanh", "Non-linearity of the recurrent cell.", choices=ACTIVATIONS
)
RNN_DROPOUT = Param("dropout", "float", 0.0, "Fraction of inputs dropped while training.", 0.0, 0.9)


# ---- shape rules ------------------------------------------------------------------------


def _window(length: int, window: int, stride: int, padding: str, axis: str, what: str) -> int:
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    out = (length - window) // stride + 1
    if out < 1:
        plural = "s" if length != 1 else ""
        raise ShapeProblem(f"the input has {length} {axis}{plural}; {what} of {window} leaves none")
    return out


def _conv1d_shape(shape: Shape, p: ParamValues) -> Shape:
    if p["dilation_rate"] > 1 and p["strides"] > 1:
        raise ShapeProblem("strides above 1 cannot be combined with a dilation rate above 1")
    span = p["dilation_rate"] * (p["kernel_size"] - 1) + 1
    what = "a kernel" if p["dilation_rate"] == 1 else "a dilated kernel spanning"
    steps = _window(shape.dims[0], span, p["strides"], p["padding"], "time step", what)
    return Shape(SEQUENCE, (steps, p["filters"]))


def _conv2d_shape(shape: Shape, p: ParamValues) -> Shape:
    height = _window(shape.dims[0], p["kernel_size"], p["strides"], p["padding"], "row", "a kernel")
    width = _window(shape.dims[1], p["kernel_size"], p["strides"], p["padding"], "column", "a kernel")
    return Shape(IMAGE, (height, width, p["filters"]))


def _pool1d_shape(shape: Shape, p: ParamValues) -> Shape:
    stride = p["strides"] or p["pool_size"]
    steps = _window(shape.dims[0], p["pool_size"], stride, p["padding"], "time step", "a pool")
    return Shape(SEQUENCE, (steps, shape.dims[1]))


def _pool2d_shape(shape: Shape, p: ParamValues) -> Shape:
    stride = p["strides"] or p["pool_size"]
    height = _window(shape.dims[0], p["pool_size"], stride, p["padding"], "row", "a pool")
    width = _window(shape.dims[1], p["pool_size"], stride, p["padding"], "column", "a pool")
    return Shape(IMAGE, (height, width, shape.dims[2]))


def _recurrent_shape(shape: Shape, p: ParamValues) -> Shape:
    both_ways_concatenated = p.get("merge_mode") == "concat"
    width = p["units"] * (2 if both_ways_concatenated else 1)
    if p["return_sequences"]:
        return Shape(SEQUENCE, (shape.dims[0], width))
    return Shape(FEATURES, (width,))


def _same(shape: Shape, p: ParamValues) -> Shape:
    return shape


def _flatten(shape: Shape, p: ParamValues) -> Shape:
    return Shape(FEATURES, (shape.size,))


def _channels_only(shape: Shape, p: ParamValues) -> Shape:
    return Shape(FEATURES, (shape.last,))


def _embedding_shape(shape: Shape, p: ParamValues) -> Shape:
    return Shape(SEQUENCE, (shape.dims[0], p["output_dim"]))


# ---- parameter counts -------------------------------------------------------------------


def _no_weights(shape: Shape, p: ParamValues) -> int:
    return 0


def _conv1d_weights(shape: Shape, p: ParamValues) -> int:
    return p["kernel_size"] * shape.last * p["filters"] + p["filters"]


def _conv2d_weights(shape: Shape, p: ParamValues) -> int:
    return p["kernel_size"] ** 2 * shape.last * p["filters"] + p["filters"]


def _cell_weights(cell: str, features: int, units: int) -> int:
    if cell == "SimpleRNN":
        return units * (features + units + 1)
    if cell == "LSTM":
        return 4 * units * (features + units + 1)
    return 3 * units * (features + units + 2)  # GRU with reset_after=True (the Keras default)


def _bidirectional_weights(shape: Shape, p: ParamValues) -> int:
    return 2 * _cell_weights(p["layer"], shape.last, p["units"])


def _dense_weights(shape: Shape, p: ParamValues) -> int:
    return shape.last * p["units"] + p["units"]


def _embedding_weights(shape: Shape, p: ParamValues) -> int:
    return p["input_dim"] * p["output_dim"]


# ---- Keras calls ------------------------------------------------------------------------


def _conv_call(cls: str) -> Callable[[ParamValues], LayerCall]:
    def call(p: ParamValues) -> LayerCall:
        kwargs = {"strides": p["strides"], "padding": p["padding"], "activation": p["activation"]}
        if "dilation_rate" in p:
            kwargs["dilation_rate"] = p["dilation_rate"]
        return LayerCall(cls, (p["filters"], p["kernel_size"]), kwargs)

    return call


def _pool_call(cls: str) -> Callable[[ParamValues], LayerCall]:
    def call(p: ParamValues) -> LayerCall:
        stride = p["strides"] or p["pool_size"]
        return LayerCall(cls, (p["pool_size"],), {"strides": stride, "padding": p["padding"]})

    return call


def _kernel_reach(p: ParamValues) -> Reach:
    return Reach(p.get("dilation_rate", 1) * (p["kernel_size"] - 1) + 1, p["strides"])


def _pool_reach(p: ParamValues) -> Reach:
    return Reach(p["pool_size"], p["strides"] or p["pool_size"])


def _recurrent_reach(p: ParamValues) -> Reach:
    return Reach(unbounded=True, collapses=not p["return_sequences"])


def _recurrent_masking(p: ParamValues) -> str:
    return KEEPS if p["return_sequences"] else USES


def _always(effect: str) -> Callable[[ParamValues], str]:
    return lambda p: effect


def _all_positions(p: ParamValues) -> Reach:
    return Reach(collapses=True)


def _plain_call(cls: str, *names: str) -> Callable[[ParamValues], LayerCall]:
    def call(p: ParamValues) -> LayerCall:
        return LayerCall(cls, tuple(p[n] for n in names[:1]), {n: p[n] for n in names[1:]})

    return call


def _rnn_call(cls: str) -> Callable[[ParamValues], LayerCall]:
    def call(p: ParamValues) -> LayerCall:
        kwargs = {"return_sequences": p["return_sequences"], "activation": p["activation"]}
        if p["dropout"]:
            kwargs["dropout"] = p["dropout"]
        return LayerCall(cls, (p["units"],), kwargs)

    return call


def _embedding_call(p: ParamValues) -> LayerCall:
    """``Embedding(vocabulary, dim)``, with ``mask_zero=True`` where token id 0 is padding."""
    return LayerCall(
        "Embedding", (p["input_dim"], p["output_dim"]), {"mask_zero": True} if p["mask_zero"] else {}
    )


def _bidirectional_call(p: ParamValues) -> LayerCall:
    inner = LayerCall(p["layer"], (p["units"],), {"return_sequences": p["return_sequences"]})
    return LayerCall("Bidirectional", (inner,), {"merge_mode": p["merge_mode"]})


def _recurrent_kind(cls: str, description: str) -> LayerKind:
    return LayerKind(
        cls,
        "recurrent",
        description,
        (_units(64), RETURN_SEQUENCES, RNN_ACTIVATION, RNN_DROPOUT),
        (SEQUENCE,),
        _recurrent_shape,
        lambda s, p: _cell_weights(cls, s.last, p["units"]),
        _rnn_call(cls),
        widths=("units",),
        reach=_recurrent_reach,
        masking=_recurrent_masking,
    )


def _pool_kinds(op: str, label: str) -> list[LayerKind]:
    return [
        LayerKind(
            f"{op}Pooling1D",
            "pooling",
            f"{label} over windows along the time axis.",
            (POOL, POOL_STRIDES, PADDING),
            (SEQUENCE,),
            _pool1d_shape,
            _no_weights,
            _pool_call(f"{op}Pooling1D"),
            reach=_pool_reach,
        ),
        LayerKind(
            f"{op}Pooling2D",
            "pooling",
            f"{label} over square windows of the image.",
            (POOL, POOL_STRIDES, PADDING),
            (IMAGE,),
            _pool2d_shape,
            _no_weights,
            _pool_call(f"{op}Pooling2D"),
            reach=_pool_reach,
        ),
        LayerKind(
            f"Global{op}Pooling1D",
            "pooling",
            f"{label} over the whole time axis (removes it).",
            (),
            (SEQUENCE,),
            _channels_only,
            _no_weights,
            _plain_call(f"Global{op}Pooling1D"),
            reach=_all_positions,
            masking=_always(USES if op == "Average" else DROPS),
        ),
        LayerKind(
            f"Global{op}Pooling2D",
            "pooling",
            f"{label} over height and width (removes them).",
            (),
            (IMAGE,),
            _channels_only,
            _no_weights,
            _plain_call(f"Global{op}Pooling2D"),
            reach=_all_positions,
        ),
    ]


KINDS: dict[str, LayerKind] = {
    kind.name: kind
    for kind in [
        LayerKind(
            "Conv1D",
            "convolution",
            "Slides filters along the time axis; causal padding and dilation make a TCN.",
            (
                FILTERS,
                KERNEL,
                STRIDES,
                Param(
                    "padding",
                    "choice",
                    "valid",
                    "valid: no padding; same: keep the length; causal: only look back in time.",
                    choices=("valid", "same", "causal"),
                ),
                DILATION,
                ACTIVATION,
            ),
            (SEQUENCE,),
            _conv1d_shape,
            _conv1d_weights,
            _conv_call("Conv1D"),
            widths=("filters",),
            reach=_kernel_reach,
        ),
        LayerKind(
            "Conv2D",
            "convolution",
            "Slides square filters over height and width of an image.",
            (FILTERS, KERNEL, STRIDES, PADDING, ACTIVATION),
            (IMAGE,),
            _conv2d_shape,
            _conv2d_weights,
            _conv_call("Conv2D"),
            widths=("filters",),
            reach=_kernel_reach,
        ),
        *_pool_kinds("Max", "Keeps the largest value"),
        *_pool_kinds("Average", "Averages the values"),
        LayerKind(
            "Flatten",
            "reshape",
            "Lays every axis out into one feature vector.",
            (),
            (SEQUENCE, IMAGE),
            _flatten,
            _no_weights,
            _plain_call("Flatten"),
            reach=_all_positions,
        ),
        _recurrent_kind("SimpleRNN", "A plain recurrent layer: one hidden state, short memory."),
        _recurrent_kind("LSTM", "Long short-term memory: gated cell state for long contexts."),
        _recurrent_kind("GRU", "Gated recurrent unit: an LSTM with fewer gates."),
        LayerKind(
            "Bidirectional",
            "recurrent",
            "Runs a recurrent layer forwards and backwards in time.",
            (
                Param("layer", "choice", "LSTM", "The recurrent layer to run both ways.", choices=RECURRENT),
                _units(32),
                RETURN_SEQUENCES,
                Param(
                    "merge_mode",
                    "choice",
                    "concat",
                    "How the two directions are joined.",
                    choices=("concat", "sum", "ave", "mul"),
                ),
            ),
            (SEQUENCE,),
            _recurrent_shape,
            _bidirectional_weights,
            _bidirectional_call,
            widths=("units",),
            reach=_recurrent_reach,
            masking=_recurrent_masking,
        ),
        LayerKind(
            "Embedding",
            "embedding",
            "Turns token ids into learned vectors.",
            (Param("output_dim", "int", 32, "Length of each token's vector.", 1, 1024),),
            (TOKENS,),
            _embedding_shape,
            _embedding_weights,
            _embedding_call,
            context=("input_dim", "mask_zero"),
            widths=("output_dim",),
        ),
        LayerKind(
            "Dense",
            "dense",
            "A fully connected layer on the last axis.",
            (_units(64), ACTIVATION),
            ANY_DENSE_INPUT,
            lambda s, p: s.with_last(p["units"]),
            _dense_weights,
            _plain_call("Dense", "units", "activation"),
            widths=("units",),
            masking=_always(KEEPS),
        ),
        LayerKind(
            "Dropout",
            "regularization",
            "Drops a fraction of values while training.",
            (Param("rate", "float", 0.3, "Fraction of values set to zero.", 0.0, 0.9),),
            ANY_DENSE_INPUT,
            _same,
            _no_weights,
            _plain_call("Dropout", "rate"),
            masking=_always(KEEPS),
        ),
        LayerKind(
            "BatchNormalization",
            "regularization",
            "Normalizes each feature over the batch.",
            (),
            ANY_DENSE_INPUT,
            _same,
            lambda s, p: 4 * s.last,
            _plain_call("BatchNormalization"),
            masking=_always(KEEPS),
        ),
        LayerKind(
            "LayerNormalization",
            "regularization",
            "Normalizes each sample over its features.",
            (),
            ANY_DENSE_INPUT,
            _same,
            lambda s, p: 2 * s.last,
            _plain_call("LayerNormalization"),
            masking=_always(KEEPS),
        ),
    ]
}


GATED = ("LSTM", "GRU")  # recurrent layers with gates


def has_gated_recurrence(layers: list[dict[str, Any]]) -> bool:
    """Whether a model's layers include an LSTM or a GRU (alone or inside Bidirectional)."""
    return any(layer.get("kind") in GATED or layer.get("layer") in GATED for layer in layers)
