"""Every fuzz table's cases as one parametrised test each: the outcome must be a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def check_table(table: str, case: harness.Case, tmp_path: Path) -> None:
    outcome, detail = harness.run_case(table, case, tmp_path)
    assert outcome == "clear", f"{case.id}: {outcome}: {detail}"
