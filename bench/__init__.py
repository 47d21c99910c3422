"""Benchmarks, run from the project folder as ``python -m bench.NAME``. They share the test suite's
helpers (Chromium, a streamlit server, a PostgreSQL server), which import each other from ``tests/``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
