"""Train every preset on built-in datasets with default settings and print a Markdown table.

    python bench/preset_results.py [DATASET_ID ...]

The README's table of preset results comes from this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.datasets import DATASETS, load_dataset
from core.model.presets import presets_for
from core.tasks.registry import TASKS
from core.training.job import TrainingJob


def main() -> None:
    names = sys.argv[1:] or [name for name, info in DATASETS.items() if info.origin == "built-in"]
    print("| dataset | preset | family | test metrics | params | training s |")
    print("|---|---|---|---|---|---|")
    for name in names:
        dataset = load_dataset(name)
        for preset, spec in presets_for(dataset.signature).items():
            record = TrainingJob(dataset, spec).run()
            metrics = record["metrics"]
            shown = ", ".join(
                f"{column.title} {metrics[column.key]:.3f}"
                for column in TASKS[dataset.signature.task].columns
            )
            print(
                f"| {name} | {preset} | {record['family']} | {record['status']}: {shown} | "
                f"{record['params']:,} | {record['train_seconds']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
