"""What every dataset loads into: seeded splits, a signature for the model, notes and previews."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import SpecError
from core.params import Param, ParamValues, check_values
from core.shapes import Signature

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MODALITIES = ("images", "text", "series", "sequences")
SEED = Param(
    "seed", "int", 0, "Seed of the shuffle that makes the train/validation/test split.", 0, 2**31 - 1
)
PLURAL_VERBS = {"is": "are", "was": "were", "has": "have"}  # other verbs drop their final s


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def head(self, count: int) -> Split:
        return Split(self.x[:count], self.y[:count])


@dataclass
class SeriesTarget:
    """How to turn scaled forecasts back into the target's units, and when each one falls."""

    name: str
    column: int
    mean: float
    std: float
    test_times: list[str]
    relative: bool = False  # targets are changes since the last value the model saw

    def last_seen(self, inputs: np.ndarray) -> np.ndarray:
        """The target's last value in each input window, scaled, as a column."""
        return inputs[:, -1, self.column][:, None]

    def unscale(self, values: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Model outputs (or targets) for these input windows, in the target's own units."""
        if self.relative:
            values = values + self.last_seen(inputs)
        return values * self.std + self.mean


@dataclass
class Dataset:
    info: DatasetInfo
    settings: ParamValues
    signature: Signature
    train: Split
    validation: Split
    test: Split
    class_names: list[str] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)  # token id -> token, for text
    notes: list[str] = field(default_factory=list)  # what loading did to the data, in sentences
    preview: dict[str, Any] = field(default_factory=dict)  # material for the Data page
    target: SeriesTarget | None = None
    test_texts: list[str] = field(default_factory=list)  # the raw text of each test sample
    limit: int | None = None  # set by head(): the run used only this many training samples
    scored_steps: tuple[int, int] | None = None  # sequence labelling: the steps that matter, [first, end)
    # an input sample as the image it was read from (images read one pixel per time step)
    as_image: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    def head(self, count: int) -> Dataset:
        """A small slice for quick runs: ``count`` training samples, a quarter of that to check."""
        small = max(count // 4, 8)
        target = self.target and replace(self.target, test_times=self.target.test_times[:small])
        return replace(
            self,
            train=self.train.head(count),
            validation=self.validation.head(small),
            test=self.test.head(small),
            test_texts=self.test_texts[:small],
            target=target,
            limit=count,
        )

    def decode(self, ids: np.ndarray) -> str:
        joiner = "" if self.settings.get("tokens", "char") == "char" else " "
        return joiner.join(self.vocabulary[int(i)] for i in ids if int(i) > 0)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset on offer: what it is, where it comes from, its settings and its loader."""

    id: str
    name: str
    modality: str
    task: str
    description: str
    source: str
    licence: str
    loader: Callable[[DatasetInfo, ParamValues], Dataset] = field(compare=False, repr=False)
    settings: tuple[Param, ...] = ()
    origin: str = "built-in"  # "built-in", "keras" (downloaded on demand) or "upload"
    units: dict[str, str] = field(default_factory=dict, compare=False)  # a series column's unit, where known

    def check_settings(self, given: Any) -> ParamValues:
        values, problems = check_values(self.settings, given or {})
        if problems:
            raise SpecError([f"Dataset {self.id}: {p}." for p in problems])
        return values

    def load(self, settings: Any = None) -> Dataset:
        return self.loader(self, self.check_settings(settings))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "modality": self.modality,
            "task": self.task,
            "description": self.description,
            "source": self.source,
            "licence": self.licence,
            "origin": self.origin,
        }


def counted(count: int, noun: str, verb: str = "") -> str:
    """A count with its noun, and a verb, agreeing: "1 row repeats", "3 rows repeat", "1 value was"."""
    if count != 1:
        noun, verb = f"{noun}s", PLURAL_VERBS.get(verb, verb.removesuffix("s"))
    return f"{count:,} {noun} {verb}".rstrip()


def shuffled_splits(
    count: int, seed: int, fractions: tuple[float, float] = (0.8, 0.1)
) -> tuple[np.ndarray, ...]:
    """Seeded train/validation/test index arrays."""
    order = np.random.default_rng(seed).permutation(count)
    train_end = int(count * fractions[0])
    validation_end = train_end + int(count * fractions[1])
    return order[:train_end], order[train_end:validation_end], order[validation_end:]
