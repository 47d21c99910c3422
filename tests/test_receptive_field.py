"""Receptive fields read from specs, against values worked out by hand."""

import pytest

from core.datasets import load_dataset
from core.model.receptive_field import ReceptiveField, receptive_field, step_unit
from core.model.spec import ModelSpec


def spec(*layers: dict) -> ModelSpec:
    return ModelSpec.from_dict({"name": "m", "layers": list(layers)})


def conv1d(kernel: int, dilation: int = 1, strides: int = 1) -> dict:
    return {
        "kind": "Conv1D",
        "kernel_size": kernel,
        "dilation_rate": dilation,
        "strides": strides,
        "padding": "causal",
    }


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        # a TCN: 1 + 2*1 + 2*2 + 2*4 + 2*8 = 31 steps, then Flatten
        (
            [conv1d(3, 1), conv1d(3, 2), conv1d(3, 4), conv1d(3, 8), {"kind": "Flatten"}],
            ReceptiveField(31, "Flatten"),
        ),
        # kernel 5 (5), pool 2 (+1 = 6, every 2nd step), kernel 3 (+2*2 = 10), pool 3 stride 3 (+2*2 = 14)
        (
            [
                conv1d(5),
                {"kind": "MaxPooling1D", "pool_size": 2},
                conv1d(3),
                {"kind": "AveragePooling1D", "pool_size": 3},
            ],
            ReceptiveField(14),
        ),
        # strides: kernel 4 stride 2 (4), kernel 3 (+2*2 = 8), global pooling combines everything after
        (
            [conv1d(4, strides=2), conv1d(3), {"kind": "GlobalMaxPooling1D"}],
            ReceptiveField(8, "GlobalMaxPooling1D"),
        ),
        # images: 3, pool (+1 = 4, jump 2), 3 (+2*2 = 8), pool (+1*2 = 10) on each side
        (
            [
                {"kind": "Conv2D", "kernel_size": 3, "padding": "same"},
                {"kind": "MaxPooling2D", "pool_size": 2},
                {"kind": "Conv2D", "kernel_size": 3, "padding": "same"},
                {"kind": "MaxPooling2D", "pool_size": 2},
                {"kind": "Flatten"},
                {"kind": "Dense", "units": 8},
            ],
            ReceptiveField(10, "Flatten", square=True),
        ),
        # a recurrent layer anywhere makes it unbounded
        ([conv1d(3), {"kind": "LSTM", "units": 8}], ReceptiveField(None)),
        ([{"kind": "Dense", "units": 4}, {"kind": "Dropout", "rate": 0.1}], ReceptiveField(1)),
    ],
)
def test_receptive_fields_match_hand_computed_values(layers, expected):
    assert receptive_field(spec(*layers)) == expected


def test_receptive_fields_read_plain_spec_dicts_and_say_what_they_mean():
    tcn = spec(conv1d(3, 1), conv1d(3, 2), {"kind": "GlobalMaxPooling1D"})
    assert receptive_field(tcn.to_dict()).to_json() == 7
    assert receptive_field(tcn).sentence() == (
        "Receptive field: 7 time steps per position; then GlobalMaxPooling1D combines all positions."
    )
    assert receptive_field(spec({"kind": "GRU", "units": 4})).to_json() is None
    assert "unbounded" in receptive_field(spec({"kind": "GRU", "units": 4})).sentence("row")
    assert receptive_field(spec({"kind": "Conv2D", "kernel_size": 5})).sentence() == (
        "Receptive field: 5 x 5 pixels per position."
    )


def test_steps_are_named_for_the_data():
    assert [step_unit(load_dataset(name).signature) for name in ("digits_8x8", "co2")] == ["row", "time step"]


def test_a_spec_dict_without_its_defaults_is_read_with_them():
    bare = {"name": "imported", "layers": [{"kind": "Conv1D"}, {"kind": "LSTM"}]}  # as a bundle may hold it
    assert receptive_field(bare) == ReceptiveField(None)
    assert receptive_field({"name": "c", "layers": [{"kind": "Conv1D"}, {"kind": "Flatten"}]}).steps == 3


def test_what_the_output_sees_of_a_window():
    assert ReceptiveField(8, "Flatten").seen(24) == 24  # Flatten combines every position
    assert ReceptiveField(None).seen(24) == 24  # a recurrent state carries every step
    assert ReceptiveField(8).seen(24) == 8 and ReceptiveField(31).seen(24) == 24
