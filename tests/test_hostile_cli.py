"""Hostile and malformed input at every border of the command line: arguments, model specs (strings
and files), sweep files and environment settings.

A mistake must end in one line on stderr, ``error: ...`` naming the problem, with exit status 2 and
no traceback, before anything trains (training cannot even be imported while a case runs); an input
that is odd but valid must be accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import ROOT, block_training

from core import budget
from core.cli import main
from core.errors import UserError
from core.runs.pool import worker_count
from core.runs.sweep import read_sweep

FOLDER = None  # a case's "file" made as a folder
TRAIN = ("train", "--dataset", "digits_8x8")
CNN = (*TRAIN, "--model", "CNN")
CO2 = ("presets", "--dataset", "co2", "--set")
HUGE = "9" * 5000  # beyond Python's limit on digits read from text
FLATTEN = {"kind": "Flatten"}
EIGHT = list(range(1, 9))
GRID_512 = f"seeds: {EIGHT}\ntrain: {{epochs: {EIGHT}, batch_size: {EIGHT}}}"
GRID_500 = f"seeds: {list(range(100))}\ntrain: {{epochs: [1, 2, 3, 4, 5]}}"
LAUGHS = "".join(  # each level ten aliases of the one before: 10^10 values in 700 bytes
    f"      l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]\n" for level in range(1, 9)
)
BILLION_LAUGHS = f"""datasets:
  - id: co2
    settings:
      l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
{LAUGHS}      window: [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]
models: [CNN]
"""


def spec(*layers: dict, **fields: object) -> str:
    return json.dumps({"name": "M", "layers": list(layers) or [FLATTEN], **fields})


@dataclass(frozen=True)
class Case:
    """Command-line arguments ("{tmp}" stands for the case's folder, in arguments and file contents)
    with the files and environment settings they need; ``says`` is what the one error line holds.
    """

    argv: tuple[str, ...]
    says: str = ""
    files: dict[str, bytes | int | None] = field(default_factory=dict)  # int: a sparse file's size
    env: dict[str, str] = field(default_factory=dict)


def spec_string(text: str, says: str = "") -> Case:
    return Case((*TRAIN, "--model", text), says)


def spec_file(content: bytes | int | None, says: str = "", name: str = "model.json") -> Case:
    return Case((*TRAIN, "--model", f"{{tmp}}/{name}"), says, {name: content})


def sweep(content: str | bytes | None, says: str, *options: str, name: str = "sweep.yaml") -> Case:
    data = content.encode() if isinstance(content, str) else content
    return Case(("sweep", f"{{tmp}}/{name}", *options), says, {name: data})


def sweep_json(plan: object, says: str) -> Case:
    return sweep(json.dumps(plan), says, name="sweep.json")


def grid(extra: str, says: str) -> Case:
    """A sweep of one run, made unsound by ``extra`` (YAML lines added to it)."""
    return sweep(f"datasets: [co2]\nmodels: [CNN]\n{extra}\n", says)


def env(variable: str, value: str, says: str = "", argv: tuple[str, ...] = CNN) -> Case:
    return Case(argv, says, env={variable: value})


REFUSED = {
    # ---- command-line arguments --------------------------------------------------------------
    "no command": Case((), "the following arguments are required: COMMAND"),
    "unknown command": Case(("fly",), "invalid choice: 'fly'"),
    "unknown option": Case((*CNN, "--colour", "red"), "unrecognized arguments: --colour red"),
    "model missing": Case(TRAIN, "the following arguments are required: --model"),
    "unknown dataset": Case(("train", "--dataset", "nope", "--model", "CNN"), "no dataset called 'nope'"),
    "unknown preset": Case((*TRAIN, "--model", "Transformer"), "There is no preset called 'Transformer'"),
    "preset name too long for a path": Case((*TRAIN, "--model", "x" * 5000), "There is no preset called"),
    "limit negative": Case((*CNN, "--limit", "-5"), "argument --limit: must be a whole number from 1"),
    "limit zero": Case((*CNN, "--limit", "0"), "argument --limit: must be a whole number from 1"),
    "limit a word": Case((*CNN, "--limit", "ten"), "not 'ten'"),
    "epochs zero": Case((*CNN, "--epochs", "0"), "Training: epochs must be at least 1, not 0."),
    "epochs huge": Case((*CNN, "--epochs", "1" + "0" * 30), "Training: epochs must be at most 200"),
    "epochs not whole": Case((*CNN, "--epochs", "2.5"), "argument --epochs: invalid int value: '2.5'"),
    "batch size zero": Case((*CNN, "--batch-size", "0"), "Training: batch_size must be at least 1, not 0."),
    "learning rate negative": Case((*CNN, "--learning-rate", "-0.1"), "learning_rate must be at least"),
    "learning rate nan": Case((*CNN, "--learning-rate", "nan"), "learning_rate must be a finite number"),
    "learning rate infinite": Case((*CNN, "--learning-rate", "inf"), "learning_rate must be a finite"),
    "unknown optimizer": Case((*CNN, "--optimizer", "adamw"), "optimizer must be one of adam, sgd"),
    "patience negative": Case((*CNN, "--patience", "-1"), "Training: patience must be at least 0, not -1."),
    "seed negative": Case((*CNN, "--seed", "-1"), "Training: seed must be at least 0, not -1."),
    "seed too large": Case((*CNN, "--seed", str(2**31)), "seed must be at most 2147483647, not 2147483648"),
    "out in a missing folder": Case((*CNN, "--out", "{tmp}/nowhere/run.json"), "folder that does not exist"),
    "out a folder": Case((*CNN, "--out", "{tmp}"), "is a folder; give the record's file name"),
    "workspace with a space": Case((*CNN, "--workspace", "a b"), "must be 1 to 40 letters, digits"),
    "workspace too long": Case((*CNN, "--workspace", "w" * 41), "must be 1 to 40 letters"),
    "workspace climbing out": Case(("runs", "--workspace", "../x"), "not '../x'"),
    "workspace empty": Case(("runs", "--workspace", ""), "argument --workspace: must be 1 to 40"),
    "setting without a value": Case((*CO2, "window"), "A setting must look like NAME=VALUE, not 'window'."),
    "setting below its minimum": Case((*CO2, "window=0"), "Dataset co2: window must be at least 2, not 0."),
    "setting a word": Case((*CO2, "window=abc"), "Dataset co2: window must be a number, not 'abc'."),
    "setting unknown": Case((*CO2, "colour=1"), "Dataset co2: there is no parameter named 'colour'."),
    "setting too large": Case((*CO2, "window=1e400"), "window must be a number, not '1e400'"),
    "setting too long": Case((*CO2, f"window={HUGE}"), "999...999"),
    "cpu devices negative": Case(("sweep", "s.yaml", "--distribute", "--cpu-devices", "-1"), "from 1 to 64"),
    "cpu devices zero": Case(("sweep", "s.yaml", "--distribute", "--cpu-devices", "0"), "not '0'"),
    "cpu devices huge": Case(("sweep", "s.yaml", "--distribute", "--cpu-devices", "9" * 40), "from 1 to 64"),
    "cpu devices alone": Case(("sweep", "s.yaml", "--cpu-devices", "2"), "--cpu-devices goes with"),
    "ray cpus zero": Case(("sweep", "s.yaml", "--ray", "--ray-cpus", "0"), "argument --ray-cpus"),
    "ray cpus without ray": Case(("sweep", "s.yaml", "--ray-cpus", "2"), "go with --ray"),
    "parent negative": Case(("worker", "--parent", "-1"), "argument --parent: must be a whole number"),
    # ---- model specs, as strings and files -------------------------------------------------------
    "spec of a 5000-digit number": spec_string(
        '{"layers": [{"kind": "Dense", "units": ' + HUGE + "}]}", "5,000 digits"
    ),
    "spec of 1e400": spec_string('{"layers": [{"kind": "Dense", "units": 1e400}]}', "('1e400' is too large"),
    "spec with NaN": spec_string(spec({"kind": "Dropout", "rate": float("nan")}), "NaN is not a number"),
    "spec with Infinity": spec_string(spec({"kind": "Dropout", "rate": float("inf")}), "Infinity is not"),
    "spec nested too deeply": spec_string("[" * 100_000, "nested too deeply"),
    "spec objects nested deeply": spec_string('{"a": ' * 100_000, "nested too deeply"),
    "spec not an object": spec_string('["LSTM"]', "A model must be an object"),
    "spec with an unknown key": spec_string(spec(code="import os"), "A model has no field named 'code'."),
    "name too long": spec_string(spec(name="n" * 61), "A model's name must be a text of 1 to 60"),
    "name with a newline": spec_string(spec(name="a\nb"), "printable characters, not 'a\\nb'"),
    "name with an escape code": spec_string(spec(name="\x1b[2J"), "not '\\x1b[2J'"),
    "name reversing its text": spec_string(spec(name="txt.\u202eexe"), "printable characters"),
    "name blank": spec_string(spec(name="   "), "A model's name must be a text of 1 to 60"),
    "name not text": spec_string(spec(name=7), "printable characters, not 7."),
    "layers empty": spec_string(spec(layers=[]), "The model has no layers"),
    "layers not a list": spec_string(spec(layers={"kind": "LSTM"}), "A model's layers must be a list."),
    "ten thousand layers": spec_string(spec(layers=[FLATTEN] * 10_000), "at most 100 layers"),
    "units a boolean": spec_string(
        spec({"kind": "Dense", "units": True}), "units must be a number, not True"
    ),
    "layer not an object": spec_string(spec(layers=["LSTM"]), "Layer 1 must be an object with a 'kind'."),
    "kind unknown and long": spec_string(spec({"kind": "K" * 10_000}), "unknown kind 'KKKK"),
    "rate a whole number beyond floats": spec_string(spec({"kind": "Dropout", "rate": 10**400}), "finite"),
    "problems counted": spec_string(
        spec({"kind": "Dense", "units": 0}, {"kind": "X"}), "(and 1 more problem)"
    ),
    "spec file not UTF-8": spec_file(b'{"name": "\xff"}', "is not UTF-8 text (byte 11 is 0xff)"),
    "spec file a folder": spec_file(FOLDER, "is a folder, not a file."),
    "spec file of a gigabyte": spec_file(2**30, "This would make 1,073,741,824 bytes"),
    "spec file endless": Case((*TRAIN, "--model", "/dev/zero"), "This would make 1,048,577 bytes"),
    "spec file missing": Case((*TRAIN, "--model", "{tmp}/gone.json"), "cannot be read (No such file"),
    "spec file not JSON": spec_file(b"{oops", "The model is not valid JSON (Expecting property name"),
    "spec file empty": spec_file(b"", "The model is not valid JSON (Expecting value at line 1, column 1)."),
    "spec file, not .json, a folder": Case((*TRAIN, "--model", "{tmp}"), "is a folder, not a file."),
    # ---- sweep files -----------------------------------------------------------------------------
    "sweep not UTF-8": sweep(b"datasets: [co2]\nmodels: [\xe9]\n", "is not UTF-8 text (byte 26 is 0xe9)."),
    "sweep too large": sweep(b"#" * (budget.SPEC_BYTES + 1), "at most 1,048,576 are allowed"),
    "sweep a folder": sweep(FOLDER, "is a folder, not a file."),
    "sweep missing": Case(("sweep", "{tmp}/gone.yaml"), "cannot be read (No such file or directory)"),
    "sweep without models": sweep("datasets: [co2]\n", "A sweep file holds datasets and models"),
    "sweep empty": sweep("", "A sweep file holds datasets and models"),
    "sweep a list": sweep("[co2, CNN]", "A sweep file holds datasets and models"),
    "sweep unknown key": grid("colour: red", "A sweep file holds datasets and models, and optionally"),
    "sweep not YAML": sweep("datasets: [co2\n", "is not valid YAML"),
    "sweep of two documents": sweep("datasets: [co2]\n---\nmodels: [CNN]\n", "is not valid YAML"),
    "sweep nested too deeply": sweep("[" * 100_000, "is not valid YAML (it is nested too deeply)."),
    "sweep of a 5000-digit number": grid(f"seeds: [{HUGE}]", "is not valid YAML (a number is too long)."),
    "sweep JSON with NaN": sweep_json(
        {"datasets": ["co2"], "models": ["CNN"], "seeds": [float("nan")]}, "NaN"
    ),
    "sweep JSON with 1e400": sweep('{"limit": 1e400}', "'1e400' is too large for a number", name="s.json"),
    "sweep JSON with a long number": sweep(
        '{"seeds": [' + HUGE + "]}", "5,000 digits is too long", name="s.json"
    ),
    "sweep python tag": grid("seeds: !!python/object/apply:os.system ['touch {tmp}/pwned']", "YAML tag"),
    "sweep custom tag": grid("seeds: !seeds [1]", "uses the YAML tag '!seeds' (line 3)"),
    "sweep recursive alias": grid("seeds: &s [*s]", "repeats its YAML anchors"),
    "sweep of 512 runs": grid(GRID_512, "This would make 512 runs in one sweep; at most 500"),
    "sweep datasets a number": sweep("datasets: 5\nmodels: [CNN]\n", "Each of the sweep's datasets is an id"),
    "sweep dataset without id": sweep(
        "datasets: [{settings: {}}]\nmodels: [CNN]\n", "with an id and settings"
    ),
    "sweep dataset id a list": sweep("datasets: [{id: [co2]}]\nmodels: [CNN]\n", "not {'id': ['co2']}"),
    "sweep datasets empty": sweep("datasets: []\nmodels: [CNN]\n", "The sweep's datasets must list at least"),
    "sweep dataset unknown": sweep("datasets: [nope]\nmodels: [CNN]\n", "There is no dataset called 'nope'"),
    "sweep dataset setting": sweep(
        "datasets: [{id: co2, settings: {window: 0}}]\nmodels: [CNN]\n", "at least 2"
    ),
    "sweep model a number": sweep(
        "datasets: [co2]\nmodels: [5]\n", "Each of the sweep's models is a preset's"
    ),
    "sweep model a list": sweep("datasets: [co2]\nmodels: [[CNN]]\n", "or a spec object, not ['CNN']."),
    "sweep preset unknown": sweep(
        "datasets: [co2]\nmodels: [Transformer]\n", "no preset called 'Transformer'"
    ),
    "sweep spec of 10,000 layers": sweep_json(
        {"datasets": ["co2"], "models": [{"name": "M", "layers": [FLATTEN] * 10_000}]}, "at most 100 layers"
    ),
    "sweep spec named with a newline": sweep(
        'datasets: [co2]\nmodels: [{name: "a\\nb", layers: [{kind: Flatten}]}]\n', "printable characters"
    ),
    "sweep spec that does not fit": sweep(
        "datasets: [co2]\nmodels: [{name: M, layers: [{kind: Conv2D}]}]\n",
        "The sweep's model 'M' does not fit co2",
    ),
    "sweep workspace with a space": grid("workspace: a b", "The sweep's workspace must be 1 to 40 letters"),
    "sweep workspace too long": grid(f"workspace: {'w' * 41}", "The sweep's workspace must be 1 to 40"),
    "sweep workspace a number": grid("workspace: 5", "dashes or underscores, not 5."),
    "sweep workspace option": sweep(
        "datasets: [co2]\nmodels: [CNN]\n", "argument --workspace", "--workspace", "a/b"
    ),
    "sweep seed negative": grid("seeds: [-1]", "Training: seed must be at least 0, not -1."),
    "sweep seed too large": grid(f"seeds: [{2**31}]", "seed must be at most 2147483647"),
    "sweep seed a boolean": grid("seeds: [true]", "seed must be a number, not True"),
    "sweep seed not a number": grid("seeds: [.nan]", "seed must be a whole number, not nan"),
    "sweep epochs zero": grid("train: {epochs: [1, 0]}", "epochs must be at least 1"),
    "sweep epochs empty": grid("train: {epochs: []}", "The sweep's train lists no value for epochs."),
    "sweep train setting unknown": grid("train: {colour: 1}", "unknown setting 'colour'"),
    "sweep seed under train": grid("train: {seed: 1}", "unknown setting 'seed'; use seeds for seeds"),
    "sweep train keys of two types": grid("train: {1: 2, colour: 3}", "unknown setting '1'"),
    "sweep train a list": grid("train: [1]", "The sweep's train must map setting names"),
    "sweep limit zero": grid("limit: 0", "The sweep's limit must be a positive whole number"),
    "sweep limit a boolean": grid("limit: true", "training samples, not True."),
    # ---- environment settings --------------------------------------------------------------------
    "max params as a float": env(
        "CNNRNN_MAX_PARAMS", "3e6", "CNNRNN_MAX_PARAMS must be a whole number from 1"
    ),
    "max params too long": env("CNNRNN_MAX_PARAMS", HUGE, "CNNRNN_MAX_PARAMS must be a whole number"),
    "max layers negative": env("CNNRNN_MAX_LAYERS", "-1", "from 1 to 100, not '-1'."),
    "max layers a superscript": env("CNNRNN_MAX_LAYERS", "²", "CNNRNN_MAX_LAYERS must be a whole number"),
    "max units a word": env("CNNRNN_MAX_UNITS", "many", "from 1 to 4096, not 'many'."),
    "max units above any layer's": env("CNNRNN_MAX_UNITS", "99999", "from 1 to 4096, not '99999'."),
    "max layers zero, for a sweep": env("CNNRNN_MAX_LAYERS", "0", "CNNRNN_MAX_LAYERS", ("sweep", "s.yaml")),
    "worker runs zero": env("CNNRNN_WORKER_RUNS", "0", "CNNRNN_WORKER_RUNS must be", ("worker", "--once")),
    "worker memory a fraction": env("CNNRNN_WORKER_MEMORY_MB", "1.5", "not '1.5'.", ("worker", "--once")),
    "server cap on parameters": Case(
        (*TRAIN, "--model", spec()),
        "parameters; this server allows at most 10.",
        env={"CNNRNN_MAX_PARAMS": "10"},
    ),
    "server caps leave no preset": env("CNNRNN_MAX_PARAMS", "10", "none fits this server's limits"),
    "server cap on layers": Case(
        (*TRAIN, "--model", spec(*[FLATTEN] * 3)),
        "The model has 3 layers; this server allows at most 2",
        env={"CNNRNN_MAX_LAYERS": "2"},
    ),
}


ACCEPTED = {  # odd but valid: each gets as far as training
    "spec file with a byte-order mark": spec_file(b"\xef\xbb\xbf" + spec().encode()),
    "spec file named otherwise": spec_file(spec().encode(), name="model.txt"),
    "units written as 1e2": spec_string('{"layers": [{"kind": "Flatten"}, {"kind": "Dense", "units": 1e2}]}'),
    "name in other scripts": spec_string(spec(name="Modèle ✓ 模型 🙂")),
    "name of exactly 60 characters": spec_string(spec(name="n" * 60)),
    "limit of one sample": Case((*CNN, "--limit", "1")),
    "seed at its largest": Case((*CNN, "--seed", str(2**31 - 1))),
    "smallest learning rate": Case((*CNN, "--learning-rate", "1e-6")),
    "workspace of exactly 40 characters": Case((*CNN, "--workspace", "Az09_-" * 6 + "abcd")),
    "out in an existing folder": Case((*CNN, "--out", "{tmp}/run.json")),
    "max params with spaces": env("CNNRNN_MAX_PARAMS", " 5000000 "),
    "max layers empty means unset": env("CNNRNN_MAX_LAYERS", ""),
}


@pytest.fixture
def untrainable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing training fails: a case that gets as far as training says so by an ImportError."""
    block_training(monkeypatch)


def run(case: Case, folder: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Make the case's files and environment in ``folder`` and run the command line in this process."""
    for name, content in case.files.items():
        make(folder / name, content)
    for variable, value in case.env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("RUNS_DB", str(folder / "runs.db"))
    return main([arg.replace("{tmp}", str(folder)) for arg in case.argv])


def make(path: Path, content: bytes | int | None) -> None:
    if content is FOLDER:
        path.mkdir()
    elif isinstance(content, int):
        with path.open("wb") as file:
            file.truncate(content)  # sparse: no disk is used
    else:
        path.write_bytes(content.replace(b"{tmp}", str(path.parent).encode()))


def assert_one_sentence(stderr: str, says: str) -> None:
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert says in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_mistake_is_one_sentence(case, tmp_path, monkeypatch, capsys, untrainable):
    assert run(case, tmp_path, monkeypatch) == 2
    assert_one_sentence(capsys.readouterr().err, case.says)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_odd_but_valid_input_gets_as_far_as_training(case, tmp_path, monkeypatch, capsys, untrainable):
    with pytest.raises(ImportError, match=r"core\.training"):
        run(case, tmp_path, monkeypatch)
    assert capsys.readouterr().err == ""


def test_odd_but_valid_settings_and_environment_run(tmp_path, monkeypatch, capsys):
    assert run(Case((*CO2, "window=24.0", "--json")), tmp_path, monkeypatch) == 0
    assert "Stacked LSTM (Keras example)" in capsys.readouterr().out
    assert run(env("CNNRNN_WORKER_RUNS", " 7 ", argv=("worker", "--once")), tmp_path, monkeypatch) == 0
    assert capsys.readouterr().err == "queue empty: 0 run(s) trained\n"


WORKERS = {"65": "from 0 to 64", "x": "not 'x'", "-1": "not '-1'", "1e1": "not '1e1'"}


@pytest.mark.parametrize(("value", "says"), WORKERS.items())
def test_the_dashboards_worker_count_is_one_sentence(value, says, monkeypatch):
    monkeypatch.setenv("CNNRNN_WORKERS", value)
    with pytest.raises(UserError, match=r"^The environment setting CNNRNN_WORKERS must be a whole") as error:
        worker_count()
    assert says in str(error.value)


@pytest.mark.parametrize(("value", "count"), [("", 1), ("0", 0), (" 3 ", 3), ("64", 64)])
def test_the_dashboards_worker_count_reads_plain_numbers(value, count, monkeypatch):
    monkeypatch.setenv("CNNRNN_WORKERS", value)
    assert worker_count() == count


@pytest.mark.parametrize(
    ("text", "runs", "seeds"),
    [
        ("datasets: co2\nmodels: CNN\nseeds: 7\ntrain: {epochs: 2}\n", 1, {7}),  # single values
        (f"datasets: [co2]\nmodels: [CNN]\n{GRID_500}\n", 500, set(range(100))),  # exactly the limit
        (  # an alias shared, not multiplied
            "datasets: [{id: co2, settings: &s {window: 12}}, {id: sunspots, settings: *s}]\nmodels: [GRU]\n",
            2,
            {42},
        ),
    ],
    ids=["single values", "exactly the limit", "a shared alias"],
)
def test_odd_but_valid_sweeps_are_planned(text, runs, seeds, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    plan = read_sweep(path)
    assert len(plan.runs) == runs and {run.settings["seed"] for run in plan.runs} == seeds


def test_a_json_sweep_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "sweep.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"datasets": ["sunspots"], "models": ["GRU"]}).encode())
    assert [run.label for run in read_sweep(path).runs] == ["GRU on sunspots (seed 42)"]


# ---- in a process of its own: memory bounded, or arguments that are not text ----------------------

HEADROOM = 256 * 2**20  # bytes of address space the command may add to what starting it took
BOUNDED = f"""
import resource, sys
from core.cli import main
started = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (started + {HEADROOM}, started + {HEADROOM}))
code = main(sys.argv[1:])
try:
    bytearray(2 * {HEADROOM})
except MemoryError:
    print("bounded")  # the limit would have stopped an expansion
sys.exit(code)
"""
PRODUCT_BOMB = (
    "datasets: [co2]\nmodels: [CNN]\nseeds: {0}\ntrain: {{epochs: {1}, batch_size: {1}, patience: {2}}}\n"
)
SUBPROCESS = {
    "a grid of 10^8 runs in 1.5 KB": (
        PRODUCT_BOMB.format(list(range(100)), list(range(1, 101)), list(range(100))),
        "This would make 100,000,000 runs in one sweep",
    ),
    "a billion laughs": (BILLION_LAUGHS, "repeats its YAML anchors into more values than it has characters"),
}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the address space from /proc")
@pytest.mark.parametrize(("text", "says"), SUBPROCESS.values(), ids=SUBPROCESS.keys())
def test_a_sweep_bomb_is_refused_before_memory_grows(text, says, tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text) < 2000
    result = subprocess.run(
        [sys.executable, "-c", BOUNDED, "sweep", str(path)],
        cwd=ROOT,
        env={**os.environ, "RUNS_DB": str(tmp_path / "runs.db")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == "bounded\n", result.stderr[-2000:]
    assert_one_sentence(result.stderr, says)


def test_a_path_that_is_not_text_is_told_plainly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "core", *TRAIN, "--model", bytes(tmp_path) + b"/\xff.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert_one_sentence(result.stderr, "\\udcff.json' cannot be read (No such file or directory).")
