"""Command line: list datasets and presets, and train a model, on the dashboard's code path."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from core import budget
from core.datasets import DATASETS, Dataset
from core.datasets.described import load_described
from core.errors import SpecError, UserError
from core.inputs import check_workspace, load_json, read_text, shown, whole_number
from core.model.param_match import SMALLEST, match_params
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.model.trace import MOST_PARAMS, Limits, validate
from core.runs.record import ENDED_WITH_RESULTS, RunRecord, RunStatus, WorkStatus, configuration_key, seed_of
from core.runs.store import RunStore
from core.runs.sweep import named_preset
from core.tasks.registry import TASKS
from core.tasks.settings import TRAIN_SETTINGS, check_train_settings
from core.training import ray_sweep

CLI_WORKSPACE = "cli"
LAB_WORKSPACE = "lab"

BAR_WIDTH = 24


def main(argv: list[str] | None = None) -> int:
    """Run one command; a mistake is one line on stderr, ``error: ...``, and exit status 2."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:  # --help, or a mistake the parser has told
        return int(done.code or 0)
    try:
        return args.handler(args)
    except UserError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _one_line(error: UserError) -> str:
    """A mistake as one line: a spec's first problem, with how many more it has."""
    message = str(error)
    if isinstance(error, SpecError) and len(error.problems) > 1:
        more = len(error.problems) - 1
        message = (
            f"{error.problems[0].rstrip('.')} (and {more} more {'problems' if more > 1 else 'problem'})."
        )
    return " ".join(message.splitlines())


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, like every other mistake (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see {self.prog} --help.\n")


def _checked(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a check that raises ValueError with a phrase (argparse names the option)."""

    def read(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return read


def _count(high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``high``."""
    return _checked(lambda text: whole_number(text, 1, high))


WORKSPACE = _checked(check_workspace)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    datasets = commands.add_parser("datasets", help="list the datasets")
    datasets.add_argument("--json", action="store_true", help="print JSON")
    datasets.set_defaults(handler=_datasets)

    presets = commands.add_parser("presets", help="list the preset models that fit a dataset")
    presets.add_argument("--dataset", required=True, metavar="ID")
    _add_settings_option(presets)
    presets.add_argument("--json", action="store_true", help="print JSON")
    presets.set_defaults(handler=_presets)

    train = commands.add_parser("train", help="train a model and print its test metrics")
    train.add_argument("--dataset", required=True, metavar="ID")
    train.add_argument(
        "--model",
        required=True,
        metavar="PRESET_OR_SPEC_JSON",
        help="a preset name, a JSON spec file, or a JSON spec string",
    )
    _add_settings_option(train)
    _add_training_flags(train)
    train.add_argument(
        "--seeds",
        metavar="S1,S2,...",
        help="train one run per seed (e.g. 1,2,3) and print the group's mean ± sd",
    )
    train.add_argument(
        "--limit",
        type=_count(budget.DATASET_VALUES),
        metavar="N",
        help="train on the first N training samples only",
    )
    train.add_argument(
        "--match-params",
        type=_count(MOST_PARAMS),
        metavar="N",
        help="scale the model's widths (units, filters) so it has within 5%% of N parameters",
    )
    train.add_argument("--out", type=Path, metavar="run.json", help="write the run record here")
    train.add_argument(
        "--no-wait",
        action="store_true",
        help="queue the runs, print their ids and return; workers (python -m core worker) train them",
    )
    _add_workspace_option(train)
    train.set_defaults(handler=_train)

    sweep = commands.add_parser(
        "sweep", help="run a grid of datasets x models x seeds x settings from a file"
    )
    sweep.add_argument("file", type=Path, help="a YAML or JSON sweep file")
    sweep.add_argument("--workspace", type=WORKSPACE, help="write to this workspace instead of the file's")
    sweep.add_argument(
        "--distribute",
        action="store_true",
        help="train under tf.distribute.MirroredStrategy over the visible devices",
    )
    sweep.add_argument(
        "--cpu-devices",
        type=_count(budget.PARALLEL_WORKERS),
        metavar="N",
        help="split the CPU into N logical devices (to try --distribute without GPUs)",
    )
    sweep.add_argument(
        "--ray",
        nargs="?",
        const=ray_sweep.LOCAL,
        metavar="ADDRESS",
        help="train each run as a Ray task: on a Ray started here, or on the cluster at ADDRESS "
        "(ray://HEAD:10001, or auto on a cluster node); needs requirements-scale.txt",
    )
    sweep.add_argument(
        "--ray-cpus",
        type=_count(budget.PARALLEL_WORKERS),
        metavar="N",
        help="CPUs of the Ray started here (default: all of them)",
    )
    sweep.add_argument("--ray-gpu", action="store_true", help="each run's Ray task asks for one GPU")
    sweep.add_argument(
        "--match-params",
        metavar=f"N|{SMALLEST}",
        help="scale every model's widths to within 5%% of N parameters, or of the smallest model on its "
        "dataset (instead of the file's match_params)",
    )
    sweep.set_defaults(handler=_sweep)

    worker = commands.add_parser(
        "worker", help="train runs queued in the run store ($RUNS_DB), one at a time, as they come"
    )
    worker.add_argument(
        "--once", action="store_true", help="exit when the queue is empty instead of waiting for more"
    )
    worker.add_argument(
        "--parent", type=_count(2**31 - 1), metavar="PID", help="end when this process (the dashboard) ends"
    )
    worker.set_defaults(handler=_worker)

    compare = commands.add_parser(
        "compare",
        help="compare two runs on the same test split, example by example, with a significance test",
    )
    compare.add_argument(
        "run_a", metavar="RUN_A", help="a run id as `runs` lists it, or its unique beginning"
    )
    compare.add_argument("run_b", metavar="RUN_B", help="the other run")
    compare.add_argument("--json", action="store_true", help="print JSON")
    compare.set_defaults(handler=_compare)

    _add_lab_commands(commands)

    runs = commands.add_parser("runs", help="list the runs in the run store ($RUNS_DB)")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.add_argument("--workspace", type=WORKSPACE, help="only this workspace's runs")
    runs.set_defaults(handler=_runs)
    return parser


def _add_lab_commands(commands: Any) -> None:
    lab = commands.add_parser(
        "lab", help="reproduce Bai et al. (2018) at CPU scale, or measure cost against sequence length"
    )
    lab_commands = lab.add_subparsers(required=True, metavar="LAB_COMMAND")
    reproduce_command = lab_commands.add_parser(
        "reproduce",
        help="train the four benchmark presets on adding and copy_memory and print them beside the "
        "paper's Table 1, with a verdict on each claim",
    )
    reproduce_command.add_argument(
        "--quick", action="store_true", help="a plan small enough for a test (seconds)"
    )
    reproduce_command.add_argument(
        "--mnist", action="store_true", help="also sequential and permuted MNIST (14x14)"
    )
    reproduce_command.add_argument(
        "--seeds", metavar="1,2,3", help="one run per seed of each model (default: 42)"
    )
    reproduce_command.add_argument(
        "--workspace", type=WORKSPACE, default=LAB_WORKSPACE, help=f"default: {LAB_WORKSPACE}"
    )
    reproduce_command.set_defaults(handler=_lab_reproduce)
    cost = lab_commands.add_parser(
        "cost",
        help="training samples per second and inference latency per sample at T = 32 ... 1024, "
        "with the log-log slope per model",
    )
    cost.add_argument("--dataset", default="adding", metavar="ID", help="the data's width (default: adding)")
    _add_settings_option(cost)
    cost.add_argument(
        "--models",
        nargs="+",
        metavar="PRESET_OR_SPEC_JSON",
        help="presets of the dataset or JSON specs (default: all its presets)",
    )
    cost.add_argument("--lengths", metavar="32,64,...", help="the lengths T (default: 32 to 1024, doubling)")
    cost.set_defaults(handler=_lab_cost)


def _add_settings_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a dataset setting, e.g. window=24 (repeatable)",
    )


def _add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=WORKSPACE,
        default=CLI_WORKSPACE,
        help=f"the run store workspace to write to (default: {CLI_WORKSPACE})",
    )


def _worker(args: argparse.Namespace) -> int:
    from core.training.worker import Worker, WorkerSettings, yield_to_web_process

    settings = WorkerSettings.from_env()
    Limits.from_env()  # a bad cap is told now, not as the failure of every run
    if args.parent is not None:
        yield_to_web_process()
    trained = Worker(RunStore(), settings, parent=args.parent).serve(once=args.once)
    if args.once:
        print(f"queue empty: {trained} run(s) trained", file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from core.runs.queue import queued_record
    from core.runs.sweep import read_sweep

    _check_sweep_options(args)
    plan = read_sweep(args.file, args.match_params)
    for dataset_id, matched in plan.matched:
        print(f"{dataset_id}: {matched}")
    store, workspace = RunStore(), args.workspace or plan.workspace
    records = [
        queued_record(run.description, run.dataset.info, run.dataset.signature, run.spec, run.settings)
        for run in plan.runs
    ]
    labels = {record["id"]: run.label for record, run in zip(records, plan.runs, strict=True)}
    train = _sweep_here if args.ray is None else _sweep_on_ray
    ids = train(args, store, records, workspace, labels)
    finished = store.runs(ids=ids)
    for record in finished:
        _report(record)
    done = sum(record["status"] in (RunStatus.COMPLETED, RunStatus.STOPPED) for record in finished)
    print(
        f"{done} of {len(ids)} runs completed into {store.where} "
        f"(workspace {workspace}); open them with ?workspace={workspace}"
    )
    return 0 if done == len(ids) else 1


def _lab_reproduce(args: argparse.Namespace) -> int:
    """Train the reproduction plan through the worker code path and print it beside the paper."""
    from core.compare.seed_groups import seeds_from_text
    from core.lab import paper

    seeds = seeds_from_text(args.seeds) if args.seeds else [paper.DEFAULT_SEED]
    plan = paper.plan(quick=args.quick, mnist=args.mnist)
    records = paper.planned_runs(plan, seeds)
    labels = {
        record["id"]: f"{record['name']} on {record['dataset']} (seed {record['config']['train']['seed']})"
        for record in records
    }
    store = RunStore()
    ids = _train_here(store, records, args.workspace, labels)
    print("\n".join(paper.report(plan, store.runs(args.workspace)).lines()))
    completed = sum(record["status"] == RunStatus.COMPLETED for record in store.runs(ids=ids))
    where = f"{store.where}; open them with ?workspace={args.workspace}"
    print(f"{completed} of {len(ids)} runs completed into {where}")
    return 0 if completed == len(ids) else 1


def _lab_cost(args: argparse.Namespace) -> int:
    """Measure the models at each length in this process, through the store's calibrations as the Lab
    page's workers do, then print the measurements, the slopes and what they show.
    """
    from core.lab import length_cost
    from core.training.worker import measure_here

    lengths = length_cost.read_lengths(args.lengths) if args.lengths else length_cost.LENGTHS
    given = [(text, _given_spec(text)) for text in args.models or []]
    dataset = load_described({"id": args.dataset, "settings": _settings(args.set)}, fetch_missing=True)
    specs = presets_for(dataset.signature)
    if given:
        specs = {spec.name: spec for spec in (spec or _model(text, dataset) for text, spec in given)}
    points = length_cost.plan(specs, dataset.signature, lengths)

    def show(done: int, point: length_cost.Point) -> None:
        _bar(done / len(points), f"{done}/{len(points)} measured; now {point.model} at T = {point.length}")

    measured = measure_here(RunStore(), points, show)
    print(file=sys.stderr)
    print("\n".join(measured.lines()))
    return 0 if (measured.frame["status"] == WorkStatus.DONE).all() else 1


def _check_sweep_options(args: argparse.Namespace) -> None:
    """Options that only make sense together, checked before the sweep file is read."""
    if args.ray is None and (args.ray_cpus is not None or args.ray_gpu):
        raise UserError("--ray-cpus and --ray-gpu go with --ray.")
    if args.ray is not None and (args.distribute or args.cpu_devices):
        raise UserError(
            "--ray trains each run in a Ray task of its own; leave out --distribute and --cpu-devices."
        )
    if args.cpu_devices and not args.distribute:
        raise UserError("--cpu-devices goes with --distribute: it splits the CPU for MirroredStrategy.")


def _sweep_here(
    args: argparse.Namespace, store: RunStore, records: list[dict], workspace: str, labels: dict[str, str]
) -> list[str]:
    """Queue the runs in the store and train them in this process (and any other workers); their ids."""
    strategy = None
    if args.cpu_devices:
        from core.training.distribute import split_cpu

        split_cpu(args.cpu_devices)
    if args.distribute:
        from core.training.distribute import mirrored_strategy

        strategy = mirrored_strategy()
        print(f"training on {strategy.num_replicas_in_sync} device(s) in sync", file=sys.stderr)
    return _train_here(store, records, workspace, labels, strategy)


def _train_here(
    store: RunStore, records: list[dict], workspace: str, labels: dict[str, str], strategy: Any = None
) -> list[str]:
    """Queue the runs and train them in this process (and any other workers), with a progress bar;
    returns their ids once every one has finished.
    """
    from core.runs.queue import enqueue
    from core.training.worker import Worker

    ids = enqueue(store, records, workspace)

    def heading(job: Any) -> str | None:
        return f"run {ids.index(job.id) + 1}/{len(ids)}: {labels[job.id]}" if job.id in labels else None

    progress = _Progress(heading)
    worker = Worker(store, strategy=strategy, listener=progress.draw)
    with _stop_on_interrupt(
        lambda: progress.job and progress.job.stop(), lambda: store.cancel_queued(ids, workspace)
    ):
        worker.serve(once=True, only=ids)
    while set(ids) & set(store.queued() + store.running()):  # runs other workers took
        time.sleep(0.5)
    progress.end()
    return ids


def _sweep_on_ray(
    args: argparse.Namespace, store: RunStore, records: list[dict], workspace: str, labels: dict[str, str]
) -> list[str]:
    """Train each run as a Ray task; each lands in the store as it finishes. Returns the runs' ids."""
    from core.runs.queue import in_order

    ids = in_order(records)
    where = "a Ray started here" if args.ray == ray_sweep.LOCAL else args.ray

    def show(record: dict[str, Any], done: int) -> None:
        _bar(done / len(ids), f"{done}/{len(ids)} runs; last {record['status']}: {labels[record['id']]}")

    with ray_sweep.connected(args.ray, args.ray_cpus):
        _bar(0.0, f"0/{len(ids)} runs, on {where}")
        finished = ray_sweep.train_on_ray(records, store, workspace, args.ray_gpu, listener=show)
    print(file=sys.stderr)
    if len(finished) < len(ids):
        print(f"interrupted: {len(ids) - len(finished)} unfinished run(s) cancelled", file=sys.stderr)
    return ids


class _Progress:
    """A progress bar on stderr for the job being trained, drawn a few times a second at most."""

    def __init__(self, heading: Any = None) -> None:
        self.heading = heading  # job -> a line printed when a new job starts
        self.job: Any = None
        self.drawn = 0.0

    def draw(self, job: Any) -> None:
        if job is not self.job:
            if self.job is not None:
                self.end()
            self.job = job
            if self.heading and (line := self.heading(job)):
                print(line, file=sys.stderr)
        now = time.monotonic()
        if now - self.drawn >= 0.25:
            self.drawn = now
            _draw(job.snapshot())

    def end(self) -> None:
        if self.job is not None:
            _draw(self.job.snapshot())
            print(file=sys.stderr)


class _stop_on_interrupt:
    """Within the block, Ctrl-C calls each handler (stop after the current batch) instead of raising."""

    def __init__(self, *handlers: Any) -> None:
        self.handlers = handlers

    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGINT, lambda *_: [handler() for handler in self.handlers])

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)


def _compare(args: argparse.Namespace) -> int:
    """Two runs side by side: their test metrics, where they disagree, and the verdict on their models
    over the seed groups of run A's workspace (as its Compare page gives it).
    """
    from core.compare.pair import compare_pair

    store = RunStore()
    records = store.runs()
    a, b = _find_run(records, args.run_a, store), _find_run(records, args.run_b, store)
    workspace = [record for record in records if record.get("workspace") == a.get("workspace")]
    report = compare_pair(a, b, workspace, store)
    print(json.dumps(report.to_dict(), indent=2) if args.json else "\n".join(report.lines()))
    return 0


def _find_run(records: list[dict[str, Any]], given: str, store: RunStore) -> dict[str, Any]:
    """The run whose id is ``given`` or begins with it, or one sentence."""
    found = [record for record in records if record["id"] == given] or [
        record for record in records if given and record["id"].startswith(given)
    ]
    if not found:
        raise UserError(
            f"No run in {store.where} has an id beginning with {shown(given)}; "
            "`python -m core runs` lists them."
        )
    if len(found) > 1:
        raise UserError(f"{len(found)} runs have ids beginning with {shown(given)}; give more of the id.")
    return found[0]


def _runs(args: argparse.Namespace) -> int:
    """The store's runs: a line each, or with --json each whole record (versioned, with its created,
    started and finished times) with its workspace, the worker that took it and its main test metric.
    """
    records = RunStore().runs(args.workspace)
    if args.json:
        print(json.dumps([{**RunRecord.from_row(r).to_dict(), **_listing(r)} for r in records]))
        return 0
    for record in records:
        row = _listing(record)
        value = "–" if row["value"] is None else f"{row['value']:.4f}"
        print(
            f"{record['id']}  {row['workspace']:<12} {record['dataset']:<16} {record['name']:<30} "
            f"{record['status']:<11} {row['metric']} {value}"
        )
    if not records:
        print(f"no runs in {RunStore().where}")
    return 0


def _listing(record: dict[str, Any]) -> dict[str, Any]:
    """The run's workspace, the worker (host) that took it (None while queued), and its task's main
    test metric with its value (None before testing).
    """
    metric = TASKS[record["task"]].main
    worker = record["owner"].rpartition(":")[0] if record.get("started") else None
    return {
        "workspace": record["workspace"],
        "worker": worker,
        "metric": metric,
        "value": record["metrics"].get(metric),
    }


def _datasets(args: argparse.Namespace) -> int:
    rows = [info.to_dict() for info in DATASETS.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        origin = "" if row["origin"] == "built-in" else f" [{row['origin']}]"
        print(f"{row['id']:<17} {row['modality']:<9} {row['task']:<18} {row['description']}{origin}")
    return 0


def _settings(pairs: list[str]) -> dict[str, Any]:
    """Parse NAME=VALUE pairs; values are read as JSON where they can be (numbers, booleans), else as
    text; the dataset checks them.
    """
    settings = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals:
            raise UserError(f"A setting must look like NAME=VALUE, not {shown(pair)}.")
        try:
            settings[name] = load_json(value, "The setting")
        except UserError:
            settings[name] = value
    return settings


def _presets(args: argparse.Namespace) -> int:
    dataset = load_described({"id": args.dataset, "settings": _settings(args.set)}, fetch_missing=True)
    specs = presets_for(dataset.signature)
    if args.json:
        print(
            json.dumps(
                [
                    {"name": name, "family": spec.family, "spec": spec.to_dict()}
                    for name, spec in specs.items()
                ],
                indent=2,
            )
        )
        return 0
    for name, spec in specs.items():
        print(f"{name:<30} {spec.family}")
    return 0


def _given_spec(text: str) -> ModelSpec | None:
    """A spec given as a JSON string or a .json file, read before any data loads; None for a preset's
    name (or a file of another name), which needs the dataset.
    """
    if text.lstrip().startswith(("{", "[")):
        return ModelSpec.from_json(text)
    if Path(text).suffix == ".json":
        return ModelSpec.from_json(read_text(Path(text), "model file"))
    return None


def _model(text: str, dataset: Dataset) -> ModelSpec:
    """A preset by name, or else a spec from a file of that name."""
    if os.path.exists(text) and text not in presets_for(dataset.signature):
        return ModelSpec.from_json(read_text(Path(text), "model file"))
    return named_preset(text, dataset)


def _check_out(path: Path | None) -> None:
    """Refuse an --out the run record could not be written to, before any work is done."""
    if path is None:
        return
    name, folder = shown(str(path)), path.parent
    if os.path.isdir(path):
        raise UserError(f"--out {name} is a folder; give the record's file name, such as run.json.")
    if not os.path.isdir(folder):
        raise UserError(f"--out {name} is in a folder that does not exist ({shown(str(folder))}).")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UserError(f"--out {name} cannot be written (permission denied).")


def _add_training_flags(parser: argparse.ArgumentParser) -> None:
    """One option per training setting of ``TRAIN_SETTINGS``, with its help, bounds or choices: the
    registry is the one list, so the command line cannot drift from the pages. Values are checked by
    the registry's own check, in its words, once all options are read.
    """
    for param in TRAIN_SETTINGS:
        number = int if param.kind == "int" else float
        if param.kind == "choice":
            metavar, allowed = "{" + ",".join(param.choices) + "}", ""
        else:
            metavar, allowed = (
                ("N" if param.kind == "int" else "X"),
                f"{number(param.min)} to {number(param.max)}; ",
            )
        parser.add_argument(
            "--" + param.name.replace("_", "-"),
            dest=param.name,
            type=number if param.kind in ("int", "float") else str,
            metavar=metavar,
            help=f"{param.help} ({allowed}default {param.default}, or the task's own)".replace("%", "%%"),
        )


def _train_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The training settings given as options, checked now in training's own words (the defaults of
    the dataset's task are filled in later).
    """
    given = {param.name: getattr(args, param.name) for param in TRAIN_SETTINGS}
    settings = {name: value for name, value in given.items() if value is not None}
    check_train_settings(settings)
    return settings


def _train(args: argparse.Namespace) -> int:
    """Everything a person gave is checked before the data loads, and the model before TensorFlow does."""
    if args.out and args.no_wait:
        raise UserError("--out writes the finished run; with --no-wait nothing has finished yet. Give one.")
    _check_out(args.out)
    limits = Limits.from_env()
    settings = _train_settings(args)
    seeds = _seeds(args)
    spec = _given_spec(args.model)
    dataset = load_described({"id": args.dataset, "settings": _settings(args.set)}, fetch_missing=True)
    spec = spec or _model(args.model, dataset)
    validate(spec, dataset.signature, limits)
    if args.match_params:
        matched = match_params(spec, dataset.signature, args.match_params, limits)
        print(matched)
        spec = matched.spec
    from core.runs.queue import one_per_seed, queued_record, seeds_sentence, seeds_to_train

    description = {
        "id": args.dataset,
        "settings": dataset.settings,
        **({"limit": args.limit} if args.limit else {}),
    }
    record = queued_record(description, dataset.info, dataset.signature, spec, settings, limits)
    store = RunStore()
    records, earlier, labels = [record], [], {}
    if seeds:
        existing = store.runs(workspace=args.workspace)
        already, missing = seeds_to_train(record, seeds, existing)
        if already:
            print(seeds_sentence(spec.name, already, missing))
            from core.compare.seed_groups import one_run_per_seed

            earlier = one_run_per_seed(
                [run for run in existing if _same_group(run, record) and seed_of(run) in already]
            )
        records = one_per_seed(record, missing) if missing else []
        labels = {
            queued["id"]: f"seed {queued['config']['train']['seed']} ({number} of {len(records)})"
            for number, queued in enumerate(records, start=1)
        }
    if args.no_wait:
        from core.runs.queue import enqueue

        for run_id in enqueue(store, records, args.workspace):
            print(run_id)
        return 0
    trained = store.runs(ids=_train_here(store, records, args.workspace, labels)) if records else []
    for finished in trained:
        _report(finished)
    if seeds and earlier + trained:
        _report_group(earlier + trained)
    if args.out:
        _write_record(earlier + trained if seeds else trained[0], args.out)
    return 0 if all(record["status"] in ENDED_WITH_RESULTS for record in trained) else 1


def _same_group(run: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether a finished run is of the queued record's configuration and completed (a group member)."""
    return run["status"] == RunStatus.COMPLETED and configuration_key(run) == configuration_key(record)


def _seeds(args: argparse.Namespace) -> list[int] | None:
    """The seeds of --seeds, checked; None without it."""
    if args.seeds is None:
        return None
    if args.seed is not None:
        raise UserError("Give --seed or --seeds, not both.")
    from core.compare.seed_groups import seeds_from_text

    return seeds_from_text(args.seeds)


def _report_group(records: list[dict[str, Any]]) -> None:
    """The completed runs' test metrics as mean ± sd with their 95% interval."""
    from core.compare.seed_groups import group_metrics, seed_groups

    completed = [record for record in records if record["status"] == RunStatus.COMPLETED]
    print(f"{records[0]['name']} over {len(completed)} completed of {len(records)} seeds:")
    for row in group_metrics(seed_groups(completed)).itertuples():
        print(f"  {row.title:<14} {row.text}")


def _write_record(record: dict[str, Any] | list[dict[str, Any]], path: Path) -> None:
    """Write the run record (with --seeds, the list of them) to --out; if that fails after all, say
    where the runs are kept.
    """
    runs = record if isinstance(record, list) else [record]
    written = [RunRecord.from_row(run).to_dict() for run in runs]
    try:
        path.write_text(json.dumps(written if isinstance(record, list) else written[0], indent=2), "utf-8")
    except OSError as error:
        ids = ", ".join(run["id"] for run in runs)
        raise UserError(
            f"The run record cannot be written to {shown(str(path))} ({error.strerror}); "
            f"the run is kept in the run store as {ids}."
        ) from None
    print(f"run written to {shown(str(path))}")


def _draw(state: dict[str, Any]) -> None:
    if state["status"] == RunStatus.QUEUED:
        return
    eta = state["eta_seconds"]
    eta_text = f" ETA {eta:.0f}s" if eta is not None else ""
    loss = state.get("batch_loss")
    loss_text = f" loss {loss:.4f}" if loss is not None else ""
    epoch = f"epoch {state['epoch']}/{state['epochs']} batch {state['batch']}/{state['batches']}"
    _bar(state.get("progress", 0.0), f"{epoch}{loss_text}{eta_text}")


def _bar(fraction: float, text: str) -> None:
    """Redraw the progress line on stderr, as wide as the terminal: a bar filled to ``fraction``, then
    ``text``.
    """
    filled = int(BAR_WIDTH * min(fraction, 1.0))
    line = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {text}"
    width = shutil.get_terminal_size().columns - 1
    print(f"\r{line[:width].ljust(width)}", end="", file=sys.stderr, flush=True)


def _report(record: dict[str, Any]) -> None:
    print(
        f"{record['name']} ({record['family']}): {record['status']}"
        + (f" ({record['reason']})" if record["reason"] else "")
    )
    print(f"parameters: {record['params']:,}   training: {record['train_seconds']:.1f} s")
    for name, value in record["metrics"].items():
        if isinstance(value, float):
            print(f"  {name:<14} {value:.4f}")
    for sample in record["metrics"].get("samples", []):
        print(f"  generated at temperature {sample['temperature']}: {sample['text'][:80]!r}")
