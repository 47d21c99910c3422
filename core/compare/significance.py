"""Is A really better than B? The right test for two runs or two seed groups, told in words.

- two seed groups: Welch's t-test on the main test metric over their seeds (``ttest_ind``, unequal
  variances);
- two single classification runs on one test split: McNemar's exact test, a binomial test on the test
  examples exactly one of them gets right;
- two single forecasting runs on one test split: the Wilcoxon signed-rank test on each test window's
  absolute error.

A side is called better only when p < 0.05.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.compare.disagreement import ClassDisagreement, check_same_data, disagreement, items_of, names_of
from core.compare.seed_groups import metric_values
from core.errors import UserError
from core.runs.record import task_of
from core.tasks.registry import TASKS

ALPHA = 0.05
WELCH = "Welch's t-test"
MCNEMAR = "McNemar's exact test"
WILCOXON = "Wilcoxon signed-rank test"


@dataclass(frozen=True)
class Significance:
    """A test's outcome: its name, the p-value, the better side ("a", "b", or None when p >= 0.05 or
    the two are level) and the sentence that explains it.
    """

    test: str
    p_value: float
    better: str | None
    names: tuple[str, str]
    sentence: str

    @property
    def mark(self) -> str | None:
        """``A is better than B``, only where the difference is significant."""
        if self.better is None:
            return None
        first, second = self.names if self.better == "a" else self.names[::-1]
        return f"{first} is better than {second}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "names": list(self.names), "mark": self.mark}


def probability(p: float) -> str:
    """A p-value in words, to three significant digits: ``0.0496``, ``0.41``, ``less than 0.001``."""
    return "less than 0.001" if p < 0.001 else f"{p:.3g}"


def _verdict(p: float, side: str | None, names: tuple[str, str]) -> tuple[str | None, str]:
    """The better side (None unless p < 0.05) and the sentence's ending."""
    if side is not None and p < ALPHA:
        return side, f"so {names[0] if side == 'a' else names[1]} is better."
    return None, "which is not rare enough (0.05 or more) to call either model better."


def welch_test(
    a: list[float], b: list[float], names: tuple[str, str], metric: str, higher_is_better: bool
) -> Significance:
    """Welch's t-test between two groups' values of one metric (two or more values each)."""
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
    return Significance(WELCH, p, better, names, sentence)


def mcnemar_test(only_a: int, only_b: int, names: tuple[str, str], items: str) -> Significance:
    """McNemar's exact test from the discordant counts: examples only A gets right, only B gets right."""
    from scipy import stats

    discordant = only_a + only_b
    if discordant == 0:
        sentence = f"{MCNEMAR}: the two models are right and wrong on exactly the same test {items}, so "
        return Significance(MCNEMAR, 1.0, None, names, sentence + "neither is better (p = 1).")
    p = float(stats.binomtest(only_a, discordant, 0.5).pvalue)
    side = None if only_a == only_b else "a" if only_a > only_b else "b"
    better, ending = _verdict(p, side, names)
    sentence = (
        f"{MCNEMAR}: the two models disagree on {discordant:,} test {items} ({names[0]} alone right on "
        f"{only_a:,}, {names[1]} alone on {only_b:,}); if they were equally good, a split at least this "
        f"uneven would happen with probability {probability(p)}, {ending}"
    )
    return Significance(MCNEMAR, p, better, names, sentence)


def paired_error_test(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> Significance:
    """The Wilcoxon signed-rank test on two forecasts' absolute errors, window by window (lower is better)."""
    from scipy import stats

    difference = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    lower_a, lower_b = int((difference < 0).sum()), int((difference > 0).sum())
    if lower_a + lower_b == 0:
        sentence = f"{WILCOXON}: the two models make the same error on every test window, so "
        return Significance(WILCOXON, 1.0, None, names, sentence + "neither is better (p = 1).")
    p = float(stats.wilcoxon(difference).pvalue)
    shift = float(np.median(difference)) or float(np.mean(difference))
    side = None if shift == 0 else "b" if shift > 0 else "a"
    better, ending = _verdict(p, side, names)
    sentence = (
        f"{WILCOXON} on each test window's absolute error: {names[0]}'s error is lower on "
        f"{lower_a:,} and {names[1]}'s on {lower_b:,} of {len(difference):,} test windows; if the models "
        f"were equally good, differences at least this one-sided would happen with probability "
        f"{probability(p)}, {ending}"
    )
    return Significance(WILCOXON, p, better, names, sentence)


def compare_runs(a: dict[str, Any], b: dict[str, Any]) -> Significance:
    """The paired test for two single runs on one test split; one sentence when they cannot be compared."""
    found = disagreement(a, b)
    names = names_of(a, b)
    if isinstance(found, ClassDisagreement):
        counts = found.counts
        return mcnemar_test(counts["only_a_right"], counts["only_b_right"], names, items_of(a))
    return paired_error_test(found.errors[0], found.errors[1], names)


def compare_groups(
    a: list[dict[str, Any]], b: list[dict[str, Any]], names: tuple[str, str] | None = None
) -> Significance:
    """Welch's t-test on the main test metric of two groups of runs on the same data; ``names`` (the
    groups' labels) default to the models' names.
    """
    check_same_data(a[0], b[0])
    main = TASKS[task_of(a[0])].main_column
    metric = main.title if main.title.isupper() else main.title.lower()
    names = names or names_of(a[0], b[0])
    return welch_test(metric_values(a, main.key), metric_values(b, main.key), names, metric, main.higher)


def compare(
    a: list[dict[str, Any]], b: list[dict[str, Any]], names: tuple[str, str] | None = None
) -> Significance:
    """The right test for two runs (one each: paired, on their test examples) or two seed groups
    (Welch's t-test over seeds, named ``names`` where given).
    """
    if len(a) == len(b) == 1:
        return compare_runs(a[0], b[0])
    return compare_groups(a, b, names)
