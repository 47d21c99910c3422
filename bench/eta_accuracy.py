"""How close the Train page's "time left" comes to the truth, for every preset on the built-in data.

Trains each preset with its dataset's default settings (epochs capped with ``--epochs``) and records
every estimate ``core.runs.queue.eta_seconds`` gives from the run's live progress; after the run, each is
compared with the training time that was actually left (estimates made with less than a second
left are not judged). Prints, per run, the ratio estimate / actual at the first estimate (after
epoch 1) and the median over all estimates, then the share of runs within +-30%.

    python bench/eta_accuracy.py [--epochs 4] [DATASET_ID ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.datasets import DATASETS, load_dataset
from core.model.presets import presets_for
from core.runs.queue import eta_seconds
from core.tasks.settings import check_train_settings
from core.training.job import PROGRESS_KEYS, TrainingJob

TOLERANCE = 0.30
SHORTEST = 1.0  # seconds actually left: the page shows whole seconds, so shorter waits are not judged


def estimates(dataset_id: str, preset: str, epochs: int) -> tuple[list[tuple[float, float]], float]:
    """Every (time, estimate) the run's progress gave, and the time its training ended."""
    dataset = load_dataset(dataset_id)
    settings = check_train_settings({}, dataset.signature.task)
    settings.update(epochs=min(settings["epochs"], epochs), patience=0)
    seen: list[tuple[float, float]] = []
    ended: list[float] = []  # when training ended: the first time the job says it is evaluating

    def listen(job: TrainingJob) -> None:
        state = job.snapshot()
        if state.get("phase") == "evaluating":
            ended.append(time.perf_counter())
            return
        estimate = eta_seconds({key: state[key] for key in PROGRESS_KEYS if key in state})
        if estimate is not None:
            seen.append((time.perf_counter(), estimate))

    record = TrainingJob(dataset, presets_for(dataset.signature)[preset], settings, listener=listen).run()
    if not ended:
        raise RuntimeError(f"{record['status']}: {record['reason']}")
    return seen, ended[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("datasets", nargs="*")
    args = parser.parse_args()
    names = args.datasets or [name for name, info in DATASETS.items() if info.origin == "built-in"]
    within = total = 0
    print(f"{'dataset':<16} {'preset':<30} {'first':>6} {'median':>7}")
    for name in names:
        for preset in presets_for(load_dataset(name).signature):
            try:
                seen, end = estimates(name, preset, args.epochs)
            except RuntimeError as error:
                print(f"{name:<16} {preset:<30} (training {error})")
                continue
            ratios = [estimate / (end - moment) for moment, estimate in seen if end - moment >= SHORTEST]
            if not ratios:
                print(f"{name:<16} {preset:<30} (too short to estimate)")
                continue
            median = statistics.median(ratios)
            total += 1
            within += abs(median - 1) <= TOLERANCE
            print(f"{name:<16} {preset:<30} {ratios[0]:6.2f} {median:7.2f}", flush=True)
    print(
        f"{within} of {total} runs have a median estimate within +-{TOLERANCE:.0%} of the time actually left"
    )


if __name__ == "__main__":
    main()
