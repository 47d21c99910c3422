"""Generated code keeps its meaning whatever names and ids a run carries."""

from __future__ import annotations

import ast

import pytest
from helpers import small

from core.errors import SpecError
from core.exchange.script import reproduce_script, script_name
from core.model.presets import presets_for

HOSTILE_NAMES = [
    'x"""\nimport os; os.system("rm -rf /")\n"""',
    "x'''\n__import__('os').system('id')\n'''",
    "x\\",
    "a\nb\r\nc",
    "{RUN}{__import__('os')}",
    "é ☃ \u202e right-to-left",
    "# comment\nprint('hi')",
    "\x00\x1b[31m",
    '"; import os; "',
]
HOSTILE_IDS = ["../../etc/passwd", 'id"""\nos.system(1)', "a b", "x" * 500]


def record_for(name: str, run_id: str = "abc123") -> dict:
    signature = small("digits_8x8").signature
    spec = presets_for(signature)["CNN"]
    return {
        "id": run_id,
        "task": "classification",
        "config": {
            "dataset": {"id": "digits_8x8", "settings": {}},
            "model": {**spec.to_dict(), "name": name},
            "train": {"epochs": 1},
        },
    }


def calls(source: str) -> set[str]:
    return {ast.unparse(node.func) for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)}


def run_constant(source: str) -> dict:
    [assignment] = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "RUN"
    ]
    return ast.literal_eval(assignment.value)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_model_names_stay_data(name):
    signature = small("digits_8x8").signature
    benign = reproduce_script(record_for("CNN"), signature)
    try:
        script = reproduce_script(record_for(name), signature)
    except SpecError as error:  # a name the spec rules refuse never reaches the script
        assert "name" in str(error)
        return
    assert calls(script) == calls(benign)
    assert run_constant(script)["model"] == name
    compile(script, "reproduce.py", "exec")


@pytest.mark.parametrize("run_id", HOSTILE_IDS)
def test_hostile_run_ids_stay_data_and_make_safe_file_names(run_id):
    record = record_for("CNN", run_id)
    script = reproduce_script(record, small("digits_8x8").signature)
    assert run_constant(script)["id"] == run_id
    assert calls(script) == calls(reproduce_script(record_for("CNN"), small("digits_8x8").signature))
    name = script_name(record)
    assert "/" not in name and " " not in name and len(name) <= 53 and name.endswith(".py")


def test_settings_outside_their_bounds_never_reach_the_script():
    record = record_for("CNN")
    record["config"]["train"] = {"epochs": "__import__('os')"}
    with pytest.raises(SpecError):
        reproduce_script(record, small("digits_8x8").signature)
    record = replace_dataset_settings(record_for("CNN"), {"seed": "1; import os"})
    with pytest.raises(SpecError):
        reproduce_script(record, small("digits_8x8").signature)


def replace_dataset_settings(record: dict, settings: dict) -> dict:
    record["config"]["dataset"] = {**record["config"]["dataset"], "settings": settings}
    return record


def test_a_balanced_run_reproduces_with_the_same_class_weights():
    record = record_for("CNN")
    record["config"]["train"]["class_weight"] = "balanced"
    script = reproduce_script(record, small("digits_8x8").signature)
    compile(script, "reproduce.py", "exec")
    assert calls(script) - calls(reproduce_script(record_for("CNN"), small("digits_8x8").signature)) == {
        "class_weights"
    }
    assert "class_weight=class_weights(train.y)" in script
