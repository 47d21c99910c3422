"""Command line: list datasets and presets, and train a model, on the dashboard's code path."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from core import ray_sweep
from core.datasets import DATASETS
from core.datasets.described import load_described
from core.errors import SpecError, UserError
from core.presets import presets_for
from core.runs import MAIN_METRIC
from core.spec import ModelSpec
from core.store import RunStore

CLI_WORKSPACE = "cli"

BAR_WIDTH = 24


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except SpecError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
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
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--optimizer")
    train.add_argument("--patience", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--limit", type=int, metavar="N", help="train on the first N training samples only")
    train.add_argument("--out", type=Path, metavar="run.json", help="write the run record here")
    _add_workspace_option(train)
    train.set_defaults(handler=_train)

    sweep = commands.add_parser(
        "sweep", help="run a grid of datasets x models x seeds x settings from a file"
    )
    sweep.add_argument("file", type=Path, help="a YAML or JSON sweep file")
    sweep.add_argument("--workspace", help="write to this workspace instead of the file's")
    sweep.add_argument(
        "--distribute",
        action="store_true",
        help="train under tf.distribute.MirroredStrategy over the visible devices",
    )
    sweep.add_argument(
        "--cpu-devices",
        type=int,
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
        "--ray-cpus", type=int, metavar="N", help="CPUs of the Ray started here (default: all of them)"
    )
    sweep.add_argument("--ray-gpu", action="store_true", help="each run's Ray task asks for one GPU")
    sweep.set_defaults(handler=_sweep)

    worker = commands.add_parser(
        "worker", help="train runs queued in the run store ($RUNS_DB), one at a time, as they come"
    )
    worker.add_argument(
        "--once", action="store_true", help="exit when the queue is empty instead of waiting for more"
    )
    worker.add_argument(
        "--parent", type=int, metavar="PID", help="end when this process (the dashboard) ends"
    )
    worker.set_defaults(handler=_worker)

    runs = commands.add_parser("runs", help="list the runs in the run store ($RUNS_DB)")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.add_argument("--workspace", help="only this workspace's runs")
    runs.set_defaults(handler=_runs)
    return parser


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
        default=CLI_WORKSPACE,
        help=f"the run store workspace to write to (default: {CLI_WORKSPACE})",
    )


def _worker(args: argparse.Namespace) -> int:
    from core.worker import Worker

    trained = Worker(RunStore(), parent=args.parent).serve(once=args.once)
    if args.once:
        print(f"queue empty: {trained} run(s) trained", file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from core.queue import queued_record
    from core.sweep import read_sweep

    if args.ray is None and (args.ray_cpus is not None or args.ray_gpu):
        raise UserError("--ray-cpus and --ray-gpu go with --ray.")
    if args.ray is not None and (args.distribute or args.cpu_devices):
        raise UserError(
            "--ray trains each run in a Ray task of its own; leave out --distribute and --cpu-devices."
        )
    plan = read_sweep(args.file)
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
    done = sum(record["status"] in ("completed", "stopped") for record in finished)
    print(
        f"{done} of {len(ids)} runs completed into {store.path} "
        f"(workspace {workspace}); open them with ?workspace={workspace}"
    )
    return 0 if done == len(ids) else 1


def _sweep_here(
    args: argparse.Namespace, store: RunStore, records: list[dict], workspace: str, labels: dict[str, str]
) -> list[str]:
    """Queue the runs in the store and train them in this process (and any other workers); their ids."""
    from core.queue import enqueue

    strategy = None
    if args.cpu_devices:
        from core.distribute import split_cpu

        split_cpu(args.cpu_devices)
    if args.distribute:
        from core.distribute import mirrored_strategy

        strategy = mirrored_strategy()
        print(f"training on {strategy.num_replicas_in_sync} device(s) in sync", file=sys.stderr)
    from core.worker import Worker

    ids = enqueue(store, records, workspace)
    progress = _Progress(lambda job: f"run {ids.index(job.id) + 1}/{len(ids)}: {labels[job.id]}")
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
    from core.queue import in_order

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
            if self.heading:
                print(self.heading(job), file=sys.stderr)
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


def _runs(args: argparse.Namespace) -> int:
    rows = []
    for record in RunStore().runs(args.workspace):
        metric, _ = MAIN_METRIC[record["task"]]
        rows.append(
            {
                "id": record["id"],
                "workspace": record["workspace"],
                "dataset": record["dataset"],
                "model": record["name"],
                "family": record["family"],
                "status": record["status"],
                "metric": metric,
                "value": record["metrics"].get(metric),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        value = "–" if row["value"] is None else f"{row['value']:.4f}"
        print(
            f"{row['id']}  {row['workspace']:<12} {row['dataset']:<16} {row['model']:<30} "
            f"{row['status']:<11} {row['metric']} {value}"
        )
    if not rows:
        print(f"no runs in {RunStore().path}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    rows = [info.to_dict() for info in DATASETS.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        origin = "" if row["origin"] == "built-in" else f" [{row['origin']}]"
        print(f"{row['id']:<17} {row['modality']:<7} {row['task']:<15} {row['description']}{origin}")
    return 0


def _settings(pairs: list[str]) -> dict[str, Any]:
    """Parse NAME=VALUE pairs; values are read as JSON where they can be (numbers, booleans)."""
    settings = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals:
            raise UserError(f"A setting must look like NAME=VALUE, not {pair!r}.")
        try:
            settings[name] = json.loads(value)
        except json.JSONDecodeError:
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


def _model(text: str, dataset) -> ModelSpec:
    """A preset by name, or a spec from a JSON file or a JSON string."""
    specs = presets_for(dataset.signature)
    if text in specs:
        return specs[text]
    if text.lstrip().startswith("{"):
        return ModelSpec.from_json(text)
    path = Path(text)
    if path.suffix == ".json" or path.exists():
        try:
            return ModelSpec.from_json(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise UserError(f"The model file {text} cannot be read ({error.strerror}).") from None
    names = ", ".join(specs)
    raise UserError(f"There is no preset called {text!r} for {dataset.info.id}; presets: {names}.")


def _train(args: argparse.Namespace) -> int:
    dataset = load_described({"id": args.dataset, "settings": _settings(args.set)}, fetch_missing=True)
    spec = _model(args.model, dataset)
    from core.training import TrainingJob  # TensorFlow loads only for training

    options = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "optimizer": args.optimizer,
        "patience": args.patience,
        "seed": args.seed,
    }
    if args.limit:
        dataset = dataset.head(args.limit)
    settings = {k: v for k, v in options.items() if v is not None}
    progress = _Progress()
    job = TrainingJob(
        dataset, spec, settings, store=RunStore(), workspace=args.workspace, listener=progress.draw
    )
    with _stop_on_interrupt(job.stop):
        record = job.run()
    progress.end()
    _report(record)
    if args.out:
        args.out.write_text(json.dumps(record, indent=2), encoding="utf-8")
        print(f"run written to {args.out}")
    return 0 if record["status"] in ("completed", "stopped") else 1


def _draw(state: dict[str, Any]) -> None:
    if state["status"] == "queued":
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
