"""Every case of every fuzz table (fuzz_*.py) must end in a clear error: no silent acceptance, no
traceback from PyTorch's internals, no abort. ``python tests/robustness/harness.py -v`` lists the rest."""

from __future__ import annotations

import harness
import pytest
from conftest import check_table

CASES = harness.all_cases()


def test_tables_are_not_empty():
    areas = {case.area for _, case in CASES}
    assert {"neurons", "encode/decode", "learning", "convert/interop", "cli"} <= areas, areas
    ids = [case.id for _, case in CASES]
    assert len(ids) == len(set(ids)), "case names must be unique within an area"


@pytest.mark.parametrize(("table", "case"), CASES, ids=[c.id for _, c in CASES])
def test_bad_input_gets_a_clear_error(table, case, tmp_path):
    check_table(table, case, tmp_path)
