"""Two runs compared in full: their test metrics, where they disagree, and the one verdict on their
models (over the seed groups they belong to); as JSON-able data and as lines of text
(``python -m core compare``).
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
from core.compare.seed_groups import SeedGroup, seed_groups
from core.compare.significance import PairVerdict, compare_runs, pair_verdict
from core.compare.verdicts import beats_baseline
from core.runs.record import RunStatus, configuration_key, task_of
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
    """Runs A and B on one test split: where they disagree, examples or windows, their models' seed
    groups, and the one verdict on those models.
    """

    a: dict[str, Any]
    b: dict[str, Any]
    found: ClassDisagreement | ForecastDisagreement
    groups: tuple[SeedGroup, SeedGroup]
    verdict: PairVerdict
    examples: dict[str, list[dict[str, Any]]]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data: runs (id, model, params, test metrics, baseline verdict), table, the groups' runs,
        the verdict and the details.
        """
        first, second = self.groups
        data: dict[str, Any] = {
            "runs": [_run_summary(self.a), _run_summary(self.b)],
            "coverage": self.found.coverage(),
            "table": self.found.counts,
            "groups": {"a_runs": [r["id"] for r in first.runs], "b_runs": [r["id"] for r in second.runs]},
            "verdict": self.verdict.to_dict(),
        }
        data["examples" if isinstance(self.found, ClassDisagreement) else "windows"] = self.examples
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
        lines += [
            f"Verdict on {self.verdict.names[0]} against {self.verdict.names[1]}: {self.verdict.summary}."
        ]
        lines.append(self.verdict.text)
        if self.verdict.test:
            lines.append(
                f"{self.verdict.test}: p_value {self.verdict.p_value:.4g}, smallest reachable "
                f"{self.verdict.smallest_p:.3g}, seeds needed {self.verdict.seeds_needed or 'unknown'}"
            )
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
    groups = groups_of_pair(a, b, records or [a, b])
    note = ""
    if isinstance(found, ClassDisagreement):
        dataset, note = examples_dataset(a, store) if items_of(a) == "texts" else (None, "")
        examples = found.examples(dataset=dataset)
    else:
        examples = {
            f"{side}_worse": [found.window_summary(i) for i in found.worst_windows(side)] for side in "ab"
        }
    return Comparison(a, b, found, groups, verdict_of(groups, a, b), examples, note)


def groups_of_pair(
    a: dict[str, Any], b: dict[str, Any], records: list[dict[str, Any]]
) -> tuple[SeedGroup, SeedGroup]:
    """The seed groups of runs A and B among ``records``' completed runs (A or B alone where it is not
    among them).
    """
    completed = [record for record in records if record["status"] == RunStatus.COMPLETED]
    by_key = {configuration_key(group.runs[0]): group for group in seed_groups(completed)}
    found = []
    for run in (a, b):
        group = by_key.get(configuration_key(run))
        found.append(group if group else seed_groups([run])[0])
    return found[0], found[1]


def verdict_of(groups: tuple[SeedGroup, SeedGroup], a: dict[str, Any], b: dict[str, Any]) -> PairVerdict:
    """The verdict on the two groups' models; two runs of one configuration (differing only in their
    seed) are tested against each other.
    """
    first, second = groups
    if first is second or configuration_key(a) == configuration_key(b):
        return compare_runs(a, b)
    return pair_verdict(first.runs, second.runs, (first.label, second.label))


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
