"""Where a person's input comes in: files, JSON, names and numeric environment settings.

Each reader returns plain data or fails with one sentence that names the input and what it must be;
nothing a person gives is echoed back unbounded or with control characters (see ``shown``).
"""

from __future__ import annotations

import json
import math
import os
import re
import reprlib
import stat
from pathlib import Path
from typing import Any

from core import budget
from core.errors import UserError

WORKSPACE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")  # the dashboard's ?workspace= rule too
WORKSPACE_RULE = "1 to 40 letters, digits, dashes or underscores"

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 60
_SHORT.maxlevel = 2


def shown(value: Any) -> str:
    """A value as it may appear in a message: its repr, escaped, shortened and never deeply nested."""
    return _SHORT.repr(value)


def check_workspace(name: Any) -> str:
    """``name`` if it is a workspace name, else ValueError with a phrase saying what one is."""
    if not isinstance(name, str) or not WORKSPACE_NAME.fullmatch(name):
        raise ValueError(f"must be {WORKSPACE_RULE}, not {shown(name)}")
    return name


def whole_number(text: str, low: int, high: int) -> int:
    """``text`` read as a whole number from ``low`` to ``high`` (no signs, exponents or decimals), else
    ValueError with a phrase saying so.
    """
    digits = text.strip()
    readable = digits.isascii() and digits.isdigit() and len(digits) <= len(str(high))
    if not readable or not low <= int(digits) <= high:
        raise ValueError(f"must be a whole number from {low} to {high}, not {shown(text)}")
    return int(digits)


def env_number(variable: str, default: int, low: int, high: int) -> int:
    """A whole-number setting from the environment: ``default`` when unset or empty, else a number from
    ``low`` to ``high`` or one sentence naming the variable, its value and what it must be.
    """
    text = os.environ.get(variable, "")
    if not text.strip():
        return default
    try:
        return whole_number(text, low, high)
    except ValueError as error:
        raise UserError(f"The environment setting {variable} {error}.") from None


def read_text(path: Path, what: str) -> str:
    """The text of a UTF-8 file (a byte-order mark is allowed) of at most ``budget.SPEC_BYTES``: a folder
    is refused and a file's size checked before it is read; a pipe (``<(...)``) is read no further than
    the limit. ``what`` names it in messages ("model file").
    """
    name = f"{what} {shown(str(path))}"
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"The {name} is a folder, not a file.")
        if stat.S_ISREG(info.st_mode):
            _check_size(info.st_size, name)
        with path.open("rb") as file:
            data = file.read(budget.SPEC_BYTES + 1)
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        raise UserError(f"The {name} cannot be read ({getattr(error, 'strerror', None) or error}).") from None
    _check_size(len(data), name)  # a pipe, or a file grown since
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(
            f"The {name} is not UTF-8 text (byte {error.start + 1} is {data[error.start]:#04x})."
        ) from None


def _check_size(size: int, name: str) -> None:
    budget.check(size, budget.SPEC_BYTES, f"bytes in the {name}", "Give a smaller file.")


def load_json(text: str, what: str) -> Any:
    """Strict JSON: no NaN or Infinity, every number finite and readable, nesting no deeper than Python
    can follow; otherwise one sentence that starts with ``what`` ("The model").
    """
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_whole)
    except RecursionError:
        reason = "it is nested too deeply"
    except json.JSONDecodeError as error:
        reason = f"{error.msg} at line {error.lineno}, column {error.colno}"
    except ValueError as error:  # raised by the number readers below
        reason = str(error)
    raise UserError(f"{what} is not valid JSON ({reason}).")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{shown(text)} is too large for a number")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # beyond Python's limit on digits read from text
        raise ValueError(f"a whole number of {len(text):,} digits is too long") from None
