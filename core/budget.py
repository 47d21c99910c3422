"""The resource budget of one request: what a visitor's data, link, bundle or sweep may cost.

Every limit lives here, is checked before the heavy work it protects (decoding, windowing,
expanding, parsing), and fails with one sentence that names the number and the limit.
"""

from __future__ import annotations

from core.errors import UserError

UPLOAD_BYTES = 20 * 1024 * 1024  # an uploaded file, as sent
UNZIPPED_BYTES = 200 * 1024 * 1024  # all files of an uploaded ZIP, once unpacked
ARCHIVE_ENTRIES = 20_000  # files in an uploaded ZIP
IMAGE_PIXELS = 4096 * 4096  # one uploaded image, read from its header before decoding
TOTAL_PIXELS = 50_000_000  # all images of an upload, read from their headers before decoding
CSV_COLUMNS = 1000  # columns of an uploaded CSV, counted before its header is parsed
CLASSES = 1000  # classes of an uploaded dataset: distinct labels or image folders
TEXT_CHARACTERS = 10_000  # one uploaded text, cut to this length before it is tokenized
DATASET_VALUES = 40_000_000  # numbers in a prepared dataset's inputs: samples x steps x features
BUNDLE_BYTES = 5 * 1024 * 1024  # an imported comparison bundle
LINK_CHARACTERS = 6000  # a share link's parameter
SWEEP_RUNS = 500  # runs one sweep file may describe, counted before the grid is expanded
SPEC_BYTES = 1024 * 1024  # a model spec or sweep file
PARALLEL_WORKERS = 64  # worker processes, logical CPU devices or local Ray CPUs asked of one machine
TEST_RESULT_VALUES = 30_000  # numbers a run keeps of its test results, example by example (for comparisons)
QUEUED_RUNS = 40  # runs one visitor may have waiting or training at once
SEEDS = 20  # seeds one training request may ask for (one run each)
PUBLISHED = 20  # comparisons one workspace may have published at once (each a frozen copy of its runs)


def check(amount: int, limit: int, what: str, advice: str) -> None:
    """Raise one sentence when ``amount`` of ``what`` exceeds ``limit``; ``advice`` says what to change."""
    if amount > limit:
        raise UserError(f"This would make {amount:,} {what}; at most {limit:,} are allowed. {advice}")


def check_values(samples: int, per_sample: int, advice: str) -> None:
    """The values a prepared dataset's inputs would hold (samples x values per sample), before any is made."""
    check(samples * per_sample, DATASET_VALUES, "input values (samples x steps x features)", advice)
