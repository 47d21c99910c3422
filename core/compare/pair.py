"""Two runs compared in full: their test metrics, where they disagree, the significance test, and the
seed groups they belong to; as JSON-able data and as lines of text (``python -m core compare``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.compare.disagreement import (
    ClassDisagreement,
    ForecastDisagreement,
    disagreement,
    examples_dataset,
    items_of,
    names_of,
)
from core.compare.seed_groups import SeedGroup, configuration_key, seed_groups
from core.compare.significance import Significance, compare_groups, compare_runs
from core.compare.verdicts import beats_baseline
from core.errors import UserError
from core.runs.record import RunStatus, task_of
from core.runs.store import RunStore
from core.tasks.registry import TASKS

TITLES = {  # examples' cells and windows' sides, as headings
    "both_right": "both right",
    "only_a_right": "only {a} right",
    "only_b_right": "only {b} right",
    "both_wrong": "both wrong",
    "a_worse": "where {a}'s error most exceeds {b}'s",
    "b_worse": "where {b}'s error most exceeds {a}'s",
}


@dataclass
class Comparison:
    """Runs A and B on one test split: disagreement, test, examples or windows, and their seed groups'
    test where both have two or more completed runs.
    """

    a: dict[str, Any]
    b: dict[str, Any]
    found: ClassDisagreement | ForecastDisagreement
    test: Significance
    groups: tuple[SeedGroup, SeedGroup, Significance] | None
    examples: dict[str, list[dict[str, Any]]]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data: runs (id, model, params, test metrics), table, test, p_value and the details."""
        data: dict[str, Any] = {
            "runs": [_run_summary(self.a), _run_summary(self.b)],
            "coverage": self.found.coverage(),
            "table": self.found.counts,
            **self.test.to_dict(),
        }
        data["examples" if isinstance(self.found, ClassDisagreement) else "windows"] = self.examples
        if self.groups:
            first, second, test = self.groups
            data["groups"] = {
                "a_runs": [r["id"] for r in first.runs],
                "b_runs": [r["id"] for r in second.runs],
            }
            data["groups"].update(test.to_dict())
        if self.note:
            data["note"] = self.note
        return data

    def lines(self) -> list[str]:
        """The comparison as text: runs, table, test, then examples or windows."""
        name_a, name_b = names_of(self.a, self.b)
        lines = []
        for side, run in zip("AB", (self.a, self.b), strict=True):
            metrics, task = run["metrics"], TASKS[task_of(run)]
            columns = [(column.key, column.title) for column in task.columns] + list(task.baselines)
            numbers = "  ".join(f"{title} {metrics[key]:.4g}" for key, title in columns if key in metrics)
            lines.append(
                f"{side}  {run['id']}  {run['name']} ({run['family']})  {run['params']:,} parameters"
            )
            lines.append(f"   {numbers}")
            lines.append(f"   {beats_baseline(run).sentence}")
        lines += ["", f"Counted over {self.found.coverage()}:", self.found.table().to_string(), ""]
        lines += [self.test.sentence, f"{self.test.test}: p_value {self.test.p_value:.4g}"]
        if self.groups:
            first, second, test = self.groups
            lines += ["", f"Seed groups {first.label} and {second.label}:", test.sentence]
        if self.note:
            lines += ["", self.note]
        names = {"a": name_a, "b": name_b}
        for key, shown in self.examples.items():
            if shown:
                lines += ["", f"{TITLES[key].format(**names)}:", *(_example_line(e, names) for e in shown)]
        return lines


def compare_pair(
    a: dict[str, Any],
    b: dict[str, Any],
    records: list[dict[str, Any]] | None = None,
    store: RunStore | None = None,
) -> Comparison:
    """Compare runs A and B (one sentence when they cannot be); ``records`` are the runs their seed
    groups are looked for among; ``store`` gives uploaded data for the examples' texts.
    """
    found = disagreement(a, b)
    test = compare_runs(a, b)
    note = ""
    if isinstance(found, ClassDisagreement):
        dataset, note = examples_dataset(a, store) if items_of(a) == "texts" else (None, "")
        examples = found.examples(dataset=dataset)
    else:
        examples = {
            f"{side}_worse": [found.window_summary(i) for i in found.worst_windows(side)] for side in "ab"
        }
    return Comparison(a, b, found, test, _groups(a, b, records or []), examples, note)


def _groups(
    a: dict[str, Any], b: dict[str, Any], records: list[dict[str, Any]]
) -> tuple[SeedGroup, SeedGroup, Significance] | None:
    """The seed groups of A and B among ``records``' completed runs, tested, when both hold two or more."""
    completed = [record for record in records if record["status"] == RunStatus.COMPLETED]
    by_key = {configuration_key(group.runs[0]): group for group in seed_groups(completed)}
    first, second = by_key.get(configuration_key(a)), by_key.get(configuration_key(b))
    if first is None or second is None or first is second or min(len(first.runs), len(second.runs)) < 2:
        return None
    try:
        return first, second, compare_groups(first.runs, second.runs, (first.label, second.label))
    except UserError:  # too few of them have the metric
        return None


def _run_summary(record: dict[str, Any]) -> dict[str, Any]:
    """A run's id, model, parameters, seed and its test metrics that are single numbers."""
    metrics = {
        key: value
        for key, value in (record.get("metrics") or {}).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }
    return {
        "id": record["id"],
        "model": record["name"],
        "family": record.get("family", ""),
        "dataset": record.get("dataset", ""),
        "params": record.get("params"),
        "seed": record["config"].get("train", {}).get("seed"),
        "metrics": metrics,
        "beats_baseline": beats_baseline(record).to_dict(),
    }


def _example_line(example: dict[str, Any], names: dict[str, str]) -> str:
    """One example or window as a line of text."""
    if "a_error" in example:
        when = f" ({example['time']})" if example["time"] else ""
        return (
            f"  window {example['index']}{when}: error {names['a']} {example['a_error']:.4g}, "
            f"{names['b']} {example['b_error']:.4g}"
        )
    text = f"  {example['text'][:70]!r}" if "text" in example else ""
    return (
        f"  #{example['index']} true {example['true']}: {names['a']} said {example['a_predicted']} "
        f"({example['a_confidence']:.2f}), {names['b']} {example['b_predicted']} "
        f"({example['b_confidence']:.2f}){text}"
    )
