"""Is A better than B? One verdict for a pair of models, whichever page or command asks.

The test is the strongest the runs allow:
- two seed groups of two runs or more each: Welch's t-test on the main test metric over their seeds
  (``ttest_ind``, unequal variances);
- otherwise one run of each (the same seed where both have it) on their shared test split:
  McNemar's exact test for classification (a binomial test on the examples exactly one of them gets
  right), the Wilcoxon signed-rank test on each test window's absolute error for forecasting;
- no test where neither applies (one seed of a task without per-example results), with the reason.

A side is called better only when p < 0.05. Beside the p-value the verdict is honest about the seed
count: the smallest p-value these counts can reach, and roughly how many seeds each model would need to
tell the observed gap apart (an estimate from the spread of the seeds so far).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import combinations, islice
from typing import Any

import numpy as np
import pandas as pd

from core.compare.disagreement import ClassDisagreement, check_same_data, disagreement, items_of, names_of
from core.compare.seed_groups import SeedGroup, metric_values
from core.errors import UserError
from core.runs.record import run_label, task_of
from core.tasks.registry import TASKS

ALPHA = 0.05
POWER = 0.8  # the chance of finding a real gap that the seed estimate aims for
MOST_SEEDS_ESTIMATED = 1000
WELCH = "Welch's t-test"
MCNEMAR = "McNemar's exact test"
WILCOXON = "Wilcoxon signed-rank test"


@dataclass(frozen=True)
class PairVerdict:
    """Whether model A is better than model B: the better side ("a", "b", or None when p >= 0.05, the
    two are level or no test applies), the test with its p-value and n (runs for Welch, test examples
    or windows told apart for a paired test), the smallest p-value those counts can reach, the seeds
    each model would need (an estimate, None where it cannot be made), the sentence, and why no test
    applies where none does. ``compared`` names the two runs a paired test compared.
    """

    names: tuple[str, str]
    better: str | None
    test: str | None
    p_value: float | None
    n: int | None
    smallest_p: float | None
    sentence: str
    seeds_needed: int | None = None
    seed_note: str = ""
    reason: str | None = None
    compared: tuple[str, str] | None = None

    @property
    def mark(self) -> str | None:
        """``A is better than B``, only where the difference is significant."""
        if self.better is None:
            return None
        first, second = self.names if self.better == "a" else self.names[::-1]
        return f"{first} is better than {second}"

    @property
    def summary(self) -> str:
        """The verdict in a few words: who is better, no significant difference, or not tested."""
        if self.test is None:
            return "not tested"
        return self.mark or "no significant difference"

    @property
    def text(self) -> str:
        """The sentence and, where there is one, the note on the seed count."""
        return f"{self.sentence} {self.seed_note}".strip()

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as ``compare --json`` gives it: better is "A", "B" or null."""
        return {
            "better": self.better.upper() if self.better else None,
            "test": self.test,
            "p_value": self.p_value,
            "n": self.n,
            "smallest_p": self.smallest_p,
            "seeds_needed": self.seeds_needed,
            "reason": self.reason,
            "names": list(self.names),
            "compared": list(self.compared) if self.compared else None,
            "sentence": self.text,
        }


def p_equals(p: float) -> str:
    """``p < 0.001`` or ``p = 0.0496``, for a sentence."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3g}"


def probability(p: float) -> str:
    """A p-value in words, to three significant digits: ``0.0496``, ``0.41``, ``less than 0.001``."""
    return "less than 0.001" if p < 0.001 else f"{p:.3g}"


def _verdict(p: float, side: str | None, names: tuple[str, str]) -> tuple[str | None, str]:
    """The better side (None unless p < 0.05) and the sentence's ending."""
    if side is not None and p < ALPHA:
        return side, f"so {names[0] if side == 'a' else names[1]} is better."
    return None, "which is not rare enough (0.05 or more) to call either model better."


def _sign_test_floor(n: int) -> float:
    """The smallest two-sided p-value of an exact sign or signed-rank test over ``n`` pairs."""
    return min(1.0, 2 * 0.5**n)


def welch_test(
    a: list[float], b: list[float], names: tuple[str, str], metric: str, higher_is_better: bool
) -> PairVerdict:
    """Welch's t-test between two groups' values of one metric (two or more values each). Its smallest
    p-value is that of an exact permutation test with these counts, which assumes nothing of how the
    seeds spread: one split in C(n_a + n_b, n_a) (1/6 with two seeds each).
    """
    from scipy import stats  # imported on use: it weighs about 45 MB in the web process

    if min(len(a), len(b)) < 2:
        raise UserError(
            f"{WELCH} needs at least two seeds of each model ({names[0]}: {len(a)}, {names[1]}: {len(b)}); "
            "train more seeds."
        )
    gap = float(np.mean(a) - np.mean(b))
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if gap else 1.0
    side = None if gap == 0 else "a" if (gap > 0) == higher_is_better else "b"
    better, ending = _verdict(p, side, names)
    sentence = (
        f"{WELCH} over seeds: the {metric} of {names[0]} averages {np.mean(a):.4g} over {len(a)} seeds, "
        f"that of {names[1]} {np.mean(b):.4g} over {len(b)}; if the models were equally good, a gap at "
        f"least this large would happen with probability {probability(p)}, {ending}"
    )
    floor = 1 / math.comb(len(a) + len(b), len(a))
    return PairVerdict(names, better, WELCH, p, len(a) + len(b), floor, sentence)


def mcnemar_test(only_a: int, only_b: int, names: tuple[str, str], items: str) -> PairVerdict:
    """McNemar's exact test from the discordant counts: examples only A gets right, only B gets right."""
    from scipy import stats

    discordant = only_a + only_b
    floor = _sign_test_floor(discordant)
    if discordant == 0:
        sentence = f"{MCNEMAR}: the two models are right and wrong on exactly the same test {items}, so "
        return PairVerdict(names, None, MCNEMAR, 1.0, 0, floor, sentence + "neither is better (p = 1).")
    p = float(stats.binomtest(only_a, discordant, 0.5).pvalue)
    side = None if only_a == only_b else "a" if only_a > only_b else "b"
    better, ending = _verdict(p, side, names)
    sentence = (
        f"{MCNEMAR}: the two models disagree on {discordant:,} test {items} ({names[0]} alone right on "
        f"{only_a:,}, {names[1]} alone on {only_b:,}); if they were equally good, a split at least this "
        f"uneven would happen with probability {probability(p)}, {ending}"
    )
    return PairVerdict(names, better, MCNEMAR, p, discordant, floor, sentence)


def paired_error_test(
    a: np.ndarray,
    b: np.ndarray,
    names: tuple[str, str],
    measure: str = "absolute error",
    items: str = "windows",
) -> PairVerdict:
    """The Wilcoxon signed-rank test on two runs' errors (``measure``), test example by test example (test
    windows for forecasts); lower is better.
    """
    from scipy import stats

    difference = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    lower_a, lower_b = int((difference < 0).sum()), int((difference > 0).sum())
    floor = _sign_test_floor(lower_a + lower_b)
    singular = items[:-1]
    if lower_a + lower_b == 0:
        sentence = f"{WILCOXON}: the two models make the same {measure} on every test {singular}, so "
        return PairVerdict(names, None, WILCOXON, 1.0, 0, floor, sentence + "neither is better (p = 1).")
    p = float(stats.wilcoxon(difference[difference != 0]).pvalue)
    shift = float(np.median(difference)) or float(np.mean(difference))
    side = None if shift == 0 else "b" if shift > 0 else "a"
    better, ending = _verdict(p, side, names)
    sentence = (
        f"{WILCOXON} on each test {singular}'s {measure}: {names[0]}'s {measure} is lower on "
        f"{lower_a:,} and {names[1]}'s on {lower_b:,} of {len(difference):,} test {items}; if the models "
        f"were equally good, differences at least this one-sided would happen with probability "
        f"{probability(p)}, {ending}"
    )
    return PairVerdict(names, better, WILCOXON, p, lower_a + lower_b, floor, sentence)


def compare_runs(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str] | None = None) -> PairVerdict:
    """The paired test for two single runs on one test split; one sentence when they cannot be compared."""
    names = names or names_of(a, b)
    if TASKS[task_of(a)].example_results is None:
        first, second = kept_losses(a, b)
        return paired_error_test(first, second, names, "loss", items_of(a))
    found = disagreement(a, b)
    if isinstance(found, ClassDisagreement):
        counts = found.counts
        return mcnemar_test(counts["only_a_right"], counts["only_b_right"], names, items_of(a))
    return paired_error_test(found.errors[0], found.errors[1], names)


def kept_losses(a: dict[str, Any], b: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Two runs' kept per-example test losses (regression, sequence labelling, language model), when both
    kept them for the same test examples; else one sentence.
    """
    check_same_data(a, b)
    found = []
    for run in (a, b):
        results = (run.get("metrics") or {}).get("test_results") or {}
        if "loss" not in results:
            raise UserError(
                f"{run_label(run)} has no per-example test losses (it was evaluated before runs kept them, "
                "or did not finish); train it again to compare it example by example."
            )
        found.append(results)
    first, second = found
    same = first["count"] == second["count"] and len(first["loss"]) == len(second["loss"])
    if not same or not np.allclose(first["baseline_loss"], second["baseline_loss"], rtol=1e-3, atol=1e-6):
        raise UserError(
            f"{run_label(a)} and {run_label(b)} were tested on different examples although their data "
            "is described alike; train them again to compare them example by example."
        )
    return np.asarray(first["loss"], dtype=float), np.asarray(second["loss"], dtype=float)


def seeds_needed(a: list[float], b: list[float]) -> int | None:
    """Roughly how many seeds of each model a two-sided t-test at 0.05 needs to find the gap between
    the means of ``a`` and ``b`` four times in five, taking the spread of the groups with two values or
    more as the spread of both; None where no spread is known, the means are equal, or more than
    ``MOST_SEEDS_ESTIMATED`` would be needed.
    """
    from scipy import stats

    spreads = [float(np.var(values, ddof=1)) for values in (a, b) if len(values) >= 2]
    gap = abs(float(np.mean(a)) - float(np.mean(b))) if a and b else 0.0
    if not spreads or gap == 0:
        return None
    sd = math.sqrt(float(np.mean(spreads)))
    if sd == 0:
        return 2
    effect = gap / sd
    guess = 2 * (stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)) ** 2 / effect**2
    for n in range(max(2, int(guess) - 2), MOST_SEEDS_ESTIMATED + 1):
        df, shift = 2 * n - 2, effect * math.sqrt(n / 2)
        critical = stats.t.ppf(1 - ALPHA / 2, df)
        if stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift) >= POWER:
            return n
    return None


def _seed_note(a: list[float], b: list[float], found: PairVerdict) -> tuple[int | None, str]:
    """The seeds each model would need, and the note on the seed count for the verdict's sentence."""
    needed = seeds_needed(a, b)
    notes = []
    if found.test == WELCH and found.smallest_p is not None and found.smallest_p >= ALPHA:
        notes.append(
            f"With {len(a)} and {len(b)} seeds, even a perfect separation reaches only "
            f"p = {found.smallest_p:.3g} under an exact permutation test; {WELCH} goes lower only by "
            "assuming the seeds' results are normally spread."
        )
    if needed is not None:
        settled = " (as many as trained or fewer)" if needed <= min(len(a), len(b)) else ""
        notes.append(
            f"From the seeds' spread so far, each model would need about {needed} seeds{settled} for a gap "
            f"this size to show at p < 0.05 four times in five (an estimate)."
        )
    elif a and b and max(len(a), len(b)) < 2:
        notes.append("Train a second seed of either model to estimate how many seeds would settle it.")
    return needed, " ".join(notes)


def _paired_runs(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run of each group for a paired test: the first two that share a seed, else the first of each."""
    seeds = {run["config"]["train"].get("seed"): run for run in reversed(b)}
    shared = next((run for run in a if run["config"]["train"].get("seed") in seeds), None)
    if shared is None:
        return a[0], b[0]
    return shared, seeds[shared["config"]["train"]["seed"]]


def _run_words(record: dict[str, Any]) -> str:
    return f"{run_label(record)}, seed {record['config']['train'].get('seed')}"


def pair_verdict(
    a: list[dict[str, Any]], b: list[dict[str, Any]], names: tuple[str, str] | None = None
) -> PairVerdict:
    """The one verdict on two models' runs on the same data (``a`` and ``b``: each model's completed
    runs, one per seed), named ``names`` (the groups' labels) or by their models.
    """
    check_same_data(a[0], b[0])
    main = TASKS[task_of(a[0])].main_column
    names = names or names_of(a[0], b[0])
    values_a, values_b = metric_values(a, main.key), metric_values(b, main.key)
    if min(len(values_a), len(values_b)) >= 2:
        metric = main.title if main.title.isupper() else main.title.lower()
        found = welch_test(values_a, values_b, names, metric, main.higher)
        needed, note = _seed_note(values_a, values_b, found)
        return replace(found, seeds_needed=needed, seed_note=note)
    first, second = _paired_runs(a, b)
    lead = ""
    if max(len(a), len(b)) > 1:
        fewest = names[0] if len(values_a) <= len(values_b) else names[1]
        lead = (
            f"{fewest} has only one seed, too few for {WELCH} over seeds, so one run of each is compared "
            f"on the same test split ({_run_words(first)} against {_run_words(second)}). "
        )
    try:
        found = compare_runs(first, second)  # its sentence names the two runs it counted
    except UserError as error:
        reason = f"{lead}No paired test applies: {error}".strip()
        sentence = f"Not tested. {reason} Train two or more seeds of each model to compare their groups."
        return PairVerdict(names, None, None, None, None, None, sentence, reason=reason)
    needed, note = _seed_note(values_a, values_b, found)
    return replace(
        found,
        names=names,
        sentence=lead + found.sentence,
        seeds_needed=needed,
        seed_note=note,
        compared=(first["id"], second["id"]),
    )


def group_verdicts(
    groups: list[SeedGroup], most: int | None = None
) -> list[tuple[SeedGroup, SeedGroup, PairVerdict]]:
    """The verdict on each pair of groups of one comparison (the first ``most`` pairs where given), named
    by the groups' labels.
    """
    return [
        (first, second, pair_verdict(first.runs, second.runs, (first.label, second.label)))
        for first, second in islice(combinations(groups, 2), most)
    ]


def verdict_rows(found: list[tuple[SeedGroup, SeedGroup, PairVerdict]]) -> pd.DataFrame:
    """The verdicts as a table: A, B, the test, its p-value, the smallest p these counts can reach, the
    seeds each model would need (an estimate) and the verdict.
    """
    return pd.DataFrame(
        [
            {
                "A": first.label,
                "B": second.label,
                "Test": verdict.test or "none applies",
                "p-value": probability(verdict.p_value) if verdict.p_value is not None else "–",
                "Smallest p": f"{verdict.smallest_p:.3g}" if verdict.smallest_p is not None else "–",
                "Seeds needed": verdict.seeds_needed,
                "Verdict": verdict.summary,
            }
            for first, second, verdict in found
        ],
        columns=["A", "B", "Test", "p-value", "Smallest p", "Seeds needed", "Verdict"],
    )
