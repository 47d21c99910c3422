from __future__ import annotations

import json

import pytest
from helpers import assert_one_sentence

from core.errors import SpecError, UserError
from core.model.layers import KINDS
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.model.trace import Limits, trace_model
from core.shapes import IMAGE, SEQUENCE, TOKENS, Shape, Signature

IMAGES = Signature(Shape(IMAGE, (28, 28, 1)), "classification", 10)
SERIES = Signature(Shape(SEQUENCE, (24, 1)), "forecasting", 1)
SHORT_SERIES = Signature(Shape(SEQUENCE, (8, 1)), "forecasting", 1)
TEXT = Signature(Shape(TOKENS, (40,)), "classification", 2, 5000)


def problems_of(data, signature=SERIES, limits=None) -> list[str]:
    try:
        spec = ModelSpec.from_dict(data)
    except SpecError as error:
        return error.problems
    return trace_model(spec, signature, limits).problems


def model(*layers, name="M"):
    return {"name": name, "layers": list(layers)}


INVALID = [
    ("not an object", ["LSTM"], SERIES, "A model must be an object with a name and a list of layers."),
    ("layers not a list", {"name": "M", "layers": "LSTM"}, SERIES, "A model's layers must be a list."),
    ("extra field", {"name": "M", "layers": [], "code": "x"}, SERIES, "A model has no field named 'code'."),
    ("empty name", model({"kind": "LSTM"}, name=""), SERIES, "A model's name must be a text of 1 to 60"),
    ("name with a tab", model({"kind": "LSTM"}, name="a\tb"), SERIES, "printable characters, not 'a\\tb'."),
    ("no layers", model(), SERIES, "The model has no layers; add at least one."),
    ("layer not object", model("LSTM"), SERIES, "Layer 1 must be an object with a 'kind'."),
    ("unknown kind", model({"kind": "Transformer"}), SERIES, "Layer 1 has an unknown kind 'Transformer'"),
    (
        "unknown parameter",
        model({"kind": "LSTM", "colour": 3}),
        SERIES,
        "Layer 1 (LSTM): there is no parameter named 'colour'.",
    ),
    (
        "units too small",
        model({"kind": "LSTM", "units": 0}),
        SERIES,
        "Layer 1 (LSTM): units must be at least 1, not 0.",
    ),
    (
        "units not a number",
        model({"kind": "GRU", "units": "many"}),
        SERIES,
        "Layer 1 (GRU): units must be a number, not 'many'.",
    ),
    (
        "fractional units",
        model({"kind": "Dense", "units": 2.5}),
        SERIES,
        "Layer 1 (Dense): units must be a whole number, not 2.5.",
    ),
    (
        "bool as number",
        model({"kind": "Dense", "units": True}),
        SERIES,
        "Layer 1 (Dense): units must be a number",
    ),
    (
        "bad choice",
        model({"kind": "Conv1D", "padding": "full"}, {"kind": "Flatten"}),
        SERIES,
        "Layer 1 (Conv1D): padding must be one of valid, same, causal, not 'full'.",
    ),
    (
        "bad bool",
        model({"kind": "LSTM", "return_sequences": "yes"}),
        SERIES,
        "Layer 1 (LSTM): return_sequences must be true or false, not 'yes'.",
    ),
    (
        "units beyond any float",
        model({"kind": "LSTM", "units": 10**100}),
        SERIES,
        "Layer 1 (LSTM): units must be at most 4096, not 1000",
    ),
    (
        "rate beyond any float",
        model({"kind": "LSTM"}, {"kind": "Dropout", "rate": 10**400}),
        SERIES,
        "Layer 2 (Dropout): rate must be a finite number, not 1000",
    ),
    (
        "dropout rate too high",
        model({"kind": "LSTM"}, {"kind": "Dropout", "rate": 1.5}),
        SERIES,
        "Layer 2 (Dropout): rate must be at most 0.9, not 1.5.",
    ),
    (
        "infinite rate",
        model({"kind": "LSTM"}, {"kind": "Dropout", "rate": float("inf")}),
        SERIES,
        "Layer 2 (Dropout): rate must be a finite number",
    ),
    (
        "pool leaves nothing",
        model(
            {"kind": "Conv1D", "kernel_size": 7},
            {"kind": "MaxPooling1D", "pool_size": 4},
            {"kind": "Flatten"},
        ),
        SHORT_SERIES,
        "Layer 2 (MaxPooling1D): the input has 2 time steps; a pool of 4 leaves none.",
    ),
    (
        "kernel longer than input",
        model({"kind": "Conv1D", "kernel_size": 30}, {"kind": "Flatten"}),
        SERIES,
        "Layer 1 (Conv1D): the input has 24 time steps; a kernel of 30 leaves none.",
    ),
    (
        "dilation with strides",
        model({"kind": "Conv1D", "strides": 2, "dilation_rate": 2}, {"kind": "Flatten"}),
        SERIES,
        "Layer 1 (Conv1D): strides above 1 cannot be combined with a dilation rate above 1.",
    ),
    (
        "time axis gone",
        model({"kind": "LSTM"}, {"kind": "LSTM"}),
        SERIES,
        "Layer 2 (LSTM): needs (batch, time, features) but gets (batch, features): the time axis ended at "
        "layer 1 (LSTM); turn on return_sequences there.",
    ),
    (
        "conv after flatten",
        model({"kind": "Flatten"}, {"kind": "Conv1D"}),
        SERIES,
        "the time axis ended at layer 1 (Flatten); move this layer before it.",
    ),
    (
        "conv2d on sequence",
        model({"kind": "LSTM", "return_sequences": True}, {"kind": "Conv2D"}),
        SERIES,
        "Layer 2 (Conv2D): needs (batch, height, width, channels) but gets (batch, time, features); "
        "use Conv1D",
    ),
    (
        "conv1d mid image",
        model({"kind": "Conv2D"}, {"kind": "Conv1D"}),
        IMAGES,
        "Layer 2 (Conv1D): needs (batch, time, features) but gets (batch, height, width, channels); "
        "use Conv2D",
    ),
    (
        "embedding not first",
        model({"kind": "Embedding"}, {"kind": "Embedding"}),
        TEXT,
        "Layer 2 (Embedding): needs (batch, time) but gets (batch, time, features); "
        "an Embedding reads token ids",
    ),
    (
        "ends with sequence",
        model({"kind": "LSTM", "return_sequences": True}),
        SERIES,
        "The model ends with (batch, time, features) but the output head needs (batch, features)",
    ),
    (
        "too many layers",
        model(*[{"kind": "Dense", "units": 4}] * 5, {"kind": "Flatten"}),
        SERIES,
        "The model has 6 layers; this server allows at most 5.",
    ),
    (
        "too many units",
        model({"kind": "LSTM", "units": 2000}),
        SERIES,
        "Layer 1 (LSTM): 2000 units exceed this server's cap of 1024.",
    ),
    (
        "too many parameters",
        model(
            {"kind": "Flatten"},
            {"kind": "Dense", "units": 1024},
            {"kind": "Dense", "units": 1024},
            {"kind": "Dense", "units": 1024},
        ),
        SERIES,
        "parameters; this server allows at most",
    ),
    (
        "bad bidirectional layer",
        model({"kind": "Bidirectional", "layer": "Conv1D"}),
        SERIES,
        "Layer 1 (Bidirectional): layer must be one of SimpleRNN, LSTM, GRU, not 'Conv1D'.",
    ),
]


@pytest.mark.parametrize(("label", "data", "signature", "sentence"), INVALID, ids=[row[0] for row in INVALID])
def test_invalid_specs_get_their_sentence(label, data, signature, sentence):
    limits = Limits(max_params=1_000_000, max_layers=5, max_units=1024)
    problems = problems_of(data, signature, limits)
    assert any(sentence in problem for problem in problems), problems
    for problem in problems:
        assert_one_sentence(problem)


@pytest.mark.parametrize(
    "signature", [IMAGES, SERIES, TEXT, Signature(Shape(TOKENS, (40,)), "language-model", 50, 50)]
)
def test_presets_round_trip_through_json(signature):
    for spec in presets_for(signature).values():
        again = ModelSpec.from_json(json.dumps(json.loads(spec.to_json())))
        assert again == spec
        assert again.family in ("cnn", "rnn", "hybrid")


def test_defaults_are_filled_and_kept():
    spec = ModelSpec.from_dict(model({"kind": "LSTM", "units": 50}))
    assert spec.layers[0] == {
        "kind": "LSTM",
        "units": 50,
        "return_sequences": False,
        "activation": "tanh",
        "dropout": 0.0,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "(Expecting property name enclosed in double quotes at line 1, column 2)."),
        ('{"layers": [{"kind": "Dropout", "rate": NaN}]}', "(NaN is not a number JSON allows)."),
        ('{"layers": [{"kind": "Dense", "units": -1e999}]}', "('-1e999' is too large for a number)."),
        ("[" * 50_000, "(it is nested too deeply)."),
    ],
)
def test_bad_json_is_one_sentence(text, reason):
    with pytest.raises(SpecError) as error:
        ModelSpec.from_json(text)
    assert error.value.problems == [f"The model is not valid JSON {reason}"]


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNRNN_MAX_PARAMS", " 5000 ")
    monkeypatch.setenv("CNNRNN_MAX_LAYERS", "")
    assert Limits.from_env() == Limits(max_params=5000)
    monkeypatch.setenv("CNNRNN_MAX_UNITS", "1e3")
    with pytest.raises(UserError, match=r"^The environment setting CNNRNN_MAX_UNITS must be a whole number"):
        Limits.from_env()


def test_trace_names_axes_and_marks_where_time_ends():
    spec = ModelSpec.from_dict(
        model(
            {"kind": "Conv1D", "filters": 8, "padding": "causal", "dilation_rate": 2},
            {"kind": "LSTM", "units": 16},
        )
    )
    trace = trace_model(spec, SERIES)
    rows = trace.rows
    assert str(rows[0].shape) == "(batch, time 24, features 1)"
    assert rows[1].shape.layout == "(batch, time, features)" and rows[1].shape.dims == (24, 8)
    assert str(rows[2].shape) == "(batch, features 16)" and rows[2].note == "time axis ends here"
    assert rows[3].role == "head" and rows[3].label == "Dense(1, activation='linear')"
    assert trace.total_params == (3 * 1 * 8 + 8) + 4 * 16 * (8 + 16 + 1) + 17


def test_image_read_row_by_row_for_a_recurrent_layer():
    trace = trace_model(ModelSpec.from_dict(model({"kind": "GRU", "units": 8})), IMAGES)
    adapter = trace.rows[1]
    assert adapter.role == "adapter" and adapter.label == "Reshape((28, 28))"
    assert str(adapter.shape) == "(batch, time 28, features 28)"
    assert "row by row" in adapter.note
    image_trace = trace_model(
        ModelSpec.from_dict(model({"kind": "Conv2D"}, {"kind": "GlobalMaxPooling2D"})), IMAGES
    )
    assert image_trace.rows[1].shape.layout == "(batch, height, width, channels)"
    assert image_trace.rows[2].note == "height and width end here"


def test_tokens_get_an_embedding_in_front():
    trace = trace_model(ModelSpec.from_dict(model({"kind": "LSTM", "units": 8})), TEXT)
    assert trace.rows[1].role == "adapter" and trace.rows[1].label == "Embedding(5000, 32, mask_zero=True)"
    assert trace.rows[1].params == 5000 * 32


def test_every_layer_kind_has_help_and_bounds():
    for kind in KINDS.values():
        assert kind.description and kind.accepts
        for param in kind.params:
            assert param.help
            assert param.kind in ("int", "float", "bool", "choice")
            if param.kind in ("int", "float"):
                assert param.min is not None and param.max is not None
            param.check(param.default)
