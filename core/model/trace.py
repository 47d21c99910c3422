"""Shape trace and validation: every layer's named output shape, parameters and problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import SpecError
from core.inputs import env_number
from core.model.layers import DROPS, KEEPS, KINDS, MASK_EFFECTS, LayerCall, LayerKind, ShapeProblem
from core.model.spec import MAX_LAYERS_IN_SPEC, ModelSpec
from core.shapes import FEATURES, IMAGE, SEQUENCE, TOKENS, Shape, Signature, layout_of
from core.tasks.registry import TASKS

ADAPTER_EMBEDDING_DIM = 32
LARGEST_SIZE = max(  # the most units, filters or output dimensions any layer allows
    int(param.max) for kind in KINDS.values() for param in kind.params if param.name in kind.widths
)
MOST_PARAMS = 10**9  # the largest CNNRNN_MAX_PARAMS
PADDING_MASKED = "token id 0 is padding: masked (mask_zero), so recurrent layers skip padded steps"


@dataclass(frozen=True)
class Limits:
    """Caps that protect a shared server; each can be set by an environment variable."""

    max_params: int = 3_000_000
    max_layers: int = 24
    max_units: int = 1024

    @classmethod
    def from_env(cls) -> Limits:
        """The caps, each from its environment variable where one is set; a bad value is one sentence."""
        return cls(
            env_number("CNNRNN_MAX_PARAMS", cls.max_params, 1, MOST_PARAMS),
            env_number("CNNRNN_MAX_LAYERS", cls.max_layers, 1, MAX_LAYERS_IN_SPEC),
            env_number("CNNRNN_MAX_UNITS", cls.max_units, 1, LARGEST_SIZE),
        )


@dataclass
class TraceRow:
    """One line of the trace: the input, an adapter, a user layer, or the output head."""

    role: str  # "input", "adapter", "layer" or "head"
    label: str
    shape: Shape | None
    params: int = 0
    call: LayerCall | None = None
    note: str = ""
    problem: str = ""
    number: int | None = None  # the user's layer number, counted from 1
    kind: str = ""  # the registry kind of a user layer
    mask: str = (
        ""  # what it does with the padding mask it gets (core.model.layers KEEPS, USES, DROPS), if any
    )


@dataclass
class Trace:
    rows: list[TraceRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def calls(self) -> list[tuple[str, LayerCall]]:
        """The Keras calls in order, each with its role (adapter, layer or head)."""
        return [(row.role, row.call) for row in self.rows if row.call is not None]

    @property
    def mask_dropped_by(self) -> TraceRow | None:
        """The layer that drops the padding mask (it and the layers after it read padded steps)."""
        return next((row for row in self.rows if row.mask == DROPS), None)

    def raise_for_problems(self) -> None:
        if self.problems:
            raise SpecError(self.problems)


def trace_model(spec: ModelSpec, signature: Signature, limits: Limits | None = None) -> Trace:
    """Follow the data through the model; collect shapes, parameter counts and problems."""
    limits = limits or Limits.from_env()
    trace = Trace([TraceRow("input", "Input", signature.input, note=_input_note(signature))])
    context = {"input_dim": signature.vocab_size, "mask_zero": pads_with_zero(signature)}
    if not spec.layers:
        trace.problems.append("The model has no layers; add at least one.")
    if len(spec.layers) > limits.max_layers:
        trace.problems.append(
            f"The model has {len(spec.layers)} layers; this server allows at most {limits.max_layers}."
        )
    shape: Shape | None = signature.input
    if spec.layers:
        shape = _add_adapter(trace, KINDS[spec.layers[0]["kind"]], shape, context)
    time_ended_at: tuple[int, LayerKind] | None = None
    masked = trace.rows[-1].role == "adapter" and context["mask_zero"]
    for number, layer in enumerate(spec.layers, start=1):
        kind = KINDS[layer["kind"]]
        values = {key: value for key, value in layer.items() if key != "kind"}
        values.update({name: context[name] for name in kind.context})
        row = TraceRow("layer", kind.name, None, number=number, kind=kind.name)
        trace.rows.append(row)
        for name in kind.widths:
            if values.get(name, 0) > limits.max_units:
                row.problem = (
                    f"{values[name]} {name.replace('_', ' ')} exceed this server's cap of {limits.max_units}"
                )
        if shape is None:
            _record(trace, row, number, kind)
            continue
        if shape.axes not in kind.accepts:
            row.problem = _mismatch(kind, shape, time_ended_at)
            shape = None
        else:
            try:
                new_shape = kind.output(shape, values)
            except ShapeProblem as problem:
                row.problem = str(problem)
                shape = None
            else:
                row.call = kind.call(values)
                row.label = row.call.render(prefix="")
                row.params = kind.weights(shape, values)
                row.note = _axis_note(shape, new_shape)
                if row.note.startswith("time"):
                    time_ended_at = (number, kind)
                if masked:
                    row.mask = kind.masking(values)
                    row.note = "; ".join(filter(None, (row.note, MASK_EFFECTS[row.mask])))
                    masked = row.mask == KEEPS
                elif row.call.kwargs.get("mask_zero"):
                    row.note, masked = PADDING_MASKED, True
                shape = new_shape
        row.shape = shape
        _record(trace, row, number, kind)
    _add_head(trace, shape, signature)
    if trace.total_params > limits.max_params:
        trace.problems.append(
            f"The model has {trace.total_params:,} parameters; "
            f"this server allows at most {limits.max_params:,}."
        )
    return trace


def validate(spec: ModelSpec, signature: Signature, limits: Limits | None = None) -> Trace:
    """Trace the model and raise SpecError with every problem, or return the clean trace."""
    trace = trace_model(spec, signature, limits)
    trace.raise_for_problems()
    return trace


def pads_with_zero(signature: Signature) -> bool:
    """Whether token id 0 is padding, which an Embedding then masks: so in the text sets (classification,
    next character); a per-step task's tokens (copy_memory) use 0 as a blank that is part of the input.
    """
    return signature.tokens and not TASKS[signature.task].head.per_step


def _record(trace: Trace, row: TraceRow, number: int, kind: LayerKind) -> None:
    if row.problem:
        trace.problems.append(f"Layer {number} ({kind.name}): {row.problem}.")


def _input_note(signature: Signature) -> str:
    if signature.tokens:
        return f"token ids from a vocabulary of {signature.vocab_size}"
    return ""


def _add_adapter(trace: Trace, first: LayerKind, shape: Shape, context: dict) -> Shape:
    """Insert what the first layer needs to read this input, and return the shape it makes."""
    if shape.axes in first.accepts:
        return shape
    if shape.axes == TOKENS:
        values = {**context, "output_dim": ADAPTER_EMBEDDING_DIM}
        embedding = KINDS["Embedding"]
        adapted = embedding.output(shape, values)
        call = embedding.call(values)
        trace.rows.append(
            TraceRow(
                "adapter",
                call.render(""),
                adapted,
                embedding.weights(shape, values),
                call,
                "token ids become vectors" + (f"; {PADDING_MASKED}" if context["mask_zero"] else ""),
            )
        )
        return adapted
    if shape.axes == IMAGE and SEQUENCE in first.accepts:
        height, width, channels = shape.dims
        adapted = Shape(SEQUENCE, (height, width * channels))
        note = "the image is read row by row: rows become time steps"
    elif shape.axes == SEQUENCE and IMAGE in first.accepts:
        adapted = Shape(IMAGE, (*shape.dims, 1))
        note = "the series is read as a one-channel image"
    else:
        return shape
    call = LayerCall("Reshape", (adapted.dims,))
    trace.rows.append(TraceRow("adapter", call.render(""), adapted, 0, call, note))
    return adapted


def _mismatch(kind: LayerKind, shape: Shape, time_ended_at: tuple[int, LayerKind] | None) -> str:
    needs = " or ".join(layout_of(axes) for axes in kind.accepts)
    message = f"needs {needs} but gets {shape.layout}"
    if kind.accepts == (TOKENS,):
        return f"{message}; an Embedding reads token ids and can only be the first layer"
    if SEQUENCE in kind.accepts and shape.axes == FEATURES and time_ended_at:
        number, ender = time_ended_at
        hint = (
            "turn on return_sequences there" if ender.category == "recurrent" else "move this layer before it"
        )
        return f"{message}: the time axis ended at layer {number} ({ender.name}); {hint}"
    if kind.accepts == (IMAGE,) and shape.axes == SEQUENCE:
        return f"{message}; use {kind.name.replace('2D', '1D')} for sequences"
    if kind.accepts == (SEQUENCE,) and shape.axes == IMAGE:
        alternative = kind.name.replace("1D", "2D")
        return f"{message}; use {alternative} for images, or make this the first layer to read rows as time"
    return message


def _axis_note(before: Shape, after: Shape) -> str:
    if "time" in before.axes and "time" not in after.axes:
        return "time axis ends here"
    if "height" in before.axes and "height" not in after.axes:
        return "height and width end here"
    return ""


def _add_head(trace: Trace, shape: Shape | None, signature: Signature) -> None:
    """Append the task's output head (``core.tasks.registry``): once per sample on (batch, features), or
    at every time step on (batch, time, features) as long as the input's.
    """
    head = TASKS[signature.task].head
    values = {"units": signature.outputs, "activation": head.activation}
    dense = KINDS["Dense"]
    call = dense.call(values)
    row = TraceRow("head", call.render(""), None, call=call)
    trace.rows.append(row)
    if shape is None:
        return
    row.problem = _head_problem(shape, signature) if head.per_step else _features_problem(shape)
    if row.problem:
        trace.problems.append(row.problem)
        return
    row.shape = dense.output(shape, values)
    row.params = dense.weights(shape, values)


def _features_problem(shape: Shape) -> str:
    if shape.axes == FEATURES:
        return ""
    return (
        f"The model ends with {shape.layout} but the output head needs (batch, features): "
        "end with Flatten, a global pooling layer, or a recurrent layer without return_sequences."
    )


def _head_problem(shape: Shape, signature: Signature) -> str:
    """Why a per-step head cannot label every input step from this shape ("" when it can)."""
    steps = signature.input.dims[0]
    if shape.axes != SEQUENCE:
        return (
            f"The model ends with {shape.layout} but a label at every time step needs "
            "(batch, time, features): keep the time axis (return_sequences on recurrent layers, no Flatten "
            "or global pooling)."
        )
    if shape.dims[0] != steps:
        return (
            f"The model ends with {shape.dims[0]} time steps but the input has {steps}, one label each: "
            "keep the length (causal or same padding, no pooling or strides)."
        )
    return ""
