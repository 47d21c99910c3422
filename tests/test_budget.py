"""The resource budget: settings within every bound whose product would be huge are refused before
any memory is spent, checked under a memory limit in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT

from core import budget
from core.errors import UserError

MEMORY_LIMIT = 700 * 1024 * 1024  # address space: loading the default corpus peaks near 400 MB
BOMBS = [
    ({"id": "shakespeare", "settings": {"sequence_length": 400, "step": 1}}, "400,000,000 input values"),
    ({"id": "shakespeare", "settings": {"sequence_length": 400, "step": 4}}, "Raise the step"),
]
LOADER = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from core.datasets.described import load_described
from core.errors import UserError
try:
    dataset = load_described(json.loads(sys.argv[1]))
except UserError as error:
    print(error)
else:
    print("loaded", dataset.train.x.shape)
"""


def load_limited(description: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOADER.format(limit=MEMORY_LIMIT), json.dumps(description)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("description", "phrase"), BOMBS)
def test_a_dataset_bomb_is_refused_under_a_memory_limit(description, phrase):
    result = load_limited(description)
    assert result.returncode == 0, result.stderr[-2000:]
    assert phrase in result.stdout and "MemoryError" not in result.stderr


def test_the_defaults_load_under_the_same_limit():
    result = load_limited({"id": "shakespeare", "settings": {}})
    assert result.returncode == 0 and result.stdout.startswith("loaded"), result.stderr[-2000:]


def test_a_budget_sentence_names_the_amount_the_limit_and_the_fix():
    with pytest.raises(UserError) as caught:
        budget.check_values(2_000_000, 400, "Raise the step.")
    assert str(caught.value) == (
        "This would make 800,000,000 input values (samples x steps x features); "
        "at most 40,000,000 are allowed. Raise the step."
    )
