"""The fuzz tables' harness: run a bad input, and say what a user would have met.

Every :class:`Case` is a bad input (a wrong shape, a NaN, a crafted file, a nonsense option) given to one
public function or one ``spikekit`` command. Its outcome is one of:

- ``"clear"``: an exception raised by a ``raise`` statement in spikekit's own code (so not PyTorch's error
  surfacing under a spikekit call) of a type a user can act on (``ValueError``, ``TypeError``, ``OSError``,
  ``RuntimeError`` and their subclasses); a command runs with ``--debug`` and is judged by the same rule
  (its boundary prints such an exception as one ``error: ...`` line), or, for a usage error, by exit
  status 2 and an ``error:`` line;
- ``"silent"``: nothing was raised (a command exited 0): the bad input was accepted;
- ``"traceback"``: any other exception, e.g. an ``IndexError`` or a message from deep inside PyTorch, or a
  command that printed a traceback;
- ``"abort"``: the process died by a signal (``isolate=True`` cases run in a subprocess for this).

``python tests/robustness/harness.py`` prints the counts per area (the issue-14 figure); the tests in this
folder require every case to be ``"clear"``. For an older checkout (no ``--debug``), set
``SPIKEKIT_FUZZ_NO_DEBUG=1``: a command is then judged by its exit status and last line only.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import multiprocessing
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTCOMES = ("clear", "silent", "traceback", "abort")
TABLES = ("fuzz_neurons", "fuzz_encode", "fuzz_decode_learning", "fuzz_interop", "fuzz_cli")
ACTIONABLE = (ValueError, TypeError, OSError)


@dataclass(frozen=True)
class Case:
    """One bad input.

    Args:
        area: the table's area ("neurons", "encode/decode", "learning", "convert/interop", "cli").
        name: unique within the area; says what is wrong ("LIF fused: state of another shape").
        run: ``run(tmp) -> Any`` makes the call (``tmp`` is an empty folder it may use); or
        argv: ``argv(tmp) -> list[str]``, the ``spikekit`` command line (files it needs made in ``tmp``).
        isolate: run in a subprocess, so that an abort is seen as one (native code).
    """

    area: str
    name: str
    run: Callable[[Path], Any] | None = None
    argv: Callable[[Path], Sequence[str]] | None = None
    isolate: bool = False

    @property
    def id(self) -> str:
        return f"{self.area}: {self.name}"


def _raised_by_spikekit(exc: BaseException) -> bool:
    """Whether a ``raise`` statement in spikekit's own source raised ``exc`` (not PyTorch under our call)."""
    frames = traceback.extract_tb(exc.__traceback__)
    src = str(Path(importlib.import_module("spikekit").__file__).parent)
    last = frames[-1] if frames else None
    return last is not None and last.filename.startswith(src) and (last.line or "").startswith("raise")


def classify_exception(exc: BaseException) -> str:
    """``"clear"`` for an actionable error spikekit raised itself, else ``"traceback"``."""
    if isinstance(exc, ACTIONABLE + (RuntimeError,)) and _raised_by_spikekit(exc):
        return "clear"
    return "traceback"


def _run_cli(argv: Sequence[str]) -> tuple[str, str]:
    """Run ``spikekit ARGV`` with ``--debug``, so that an error comes out as the exception behind it.

    The command-line boundary prints any exception as ``error: ...``; with ``--debug`` the exception itself
    is classified like a Python call's, so an internal error cannot pass for a clear one. Usage errors
    (argparse) still end in exit status 2 and an ``error:`` line.
    """
    from spikekit.cli import main

    # A checkout older than --debug is judged by what it prints (for the "before" counts).
    lenient = os.environ.get("SPIKEKIT_FUZZ_NO_DEBUG", "") not in ("", "0")
    err, out = io.StringIO(), io.StringIO()
    code: Any = 0
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(list(argv) if lenient else [*argv, "--debug"])
    except SystemExit as e:
        code = e.code
    except BaseException as exc:  # noqa: BLE001 - classifying is the point
        return classify_exception(exc), f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(code, str):  # sys.exit("error: ..."): Python prints it and exits 1
        err.write(code + "\n")
        code = 1
    text = err.getvalue()
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if code in (0, None):
        return "silent", out.getvalue()[-500:]
    if "Traceback (most recent call last)" in text:
        return "traceback", text
    if (code == 2 or (lenient and code == 1)) and lines and "error:" in lines[-1][:60]:
        return "clear", lines[-1]
    return "traceback", f"exit {code}: {text[-500:]}"


def run_here(case: Case, tmp: Path) -> tuple[str, str]:
    """``(outcome, detail)`` of ``case`` run in this process."""
    if case.argv is not None:
        return _run_cli(case.argv(tmp))
    try:
        case.run(tmp)
    except BaseException as exc:  # noqa: BLE001 - classifying is the point
        return classify_exception(exc), f"{type(exc).__name__}: {exc}"[:500]
    return "silent", "returned normally"


_FORKSERVER: Any = None


def _isolated_context() -> Any:
    """A fork server that has imported torch, spikekit, its C++ engine's loader and the fuzz tables once:
    each isolated case is a fork of it (milliseconds) instead of a fresh interpreter (seconds each)."""
    global _FORKSERVER
    if _FORKSERVER is None:
        _FORKSERVER = multiprocessing.get_context("forkserver")
        _FORKSERVER.set_forkserver_preload(["torch", "spikekit", "spikekit.kernels.cpp", "harness", *TABLES])
    return _FORKSERVER


def _run_child(table: str, case_id: str, tmp: str, conn: Any) -> None:
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(table)
    case = next(c for c in module.CASES if c.id == case_id)
    conn.send(run_here(case, Path(tmp)))
    conn.close()


def run_isolated(table: str, case: Case, tmp: Path, timeout: float = 300) -> tuple[str, str]:
    """``(outcome, detail)`` of ``case`` run in a child process (an abort is an outcome)."""
    ctx = _isolated_context()
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_run_child, args=(table, case.id, str(tmp), send))
    child.start()
    send.close()
    try:
        result = recv.recv() if recv.poll(timeout) else None
    except EOFError:  # the child died before answering
        result = None
    child.join(timeout=30)
    if child.exitcode is None:
        child.kill()
        child.join()
        raise TimeoutError(f"{case.id}: no answer in {timeout:g} s")
    if child.exitcode < 0:
        return "abort", f"signal {-child.exitcode}"
    if result is None:
        return ("abort" if child.exitcode else "traceback"), f"exit {child.exitcode} without an answer"
    outcome, detail = result
    return outcome, detail


def run_case(table: str, case: Case, tmp: Path) -> tuple[str, str]:
    return run_isolated(table, case, tmp) if case.isolate else run_here(case, tmp)


def all_cases() -> list[tuple[str, Case]]:
    sys.path.insert(0, str(HERE))
    out = []
    for table in TABLES:
        try:
            module = importlib.import_module(table)
        except ModuleNotFoundError as e:
            if e.name != table:
                raise
            continue
        out += [(table, c) for c in module.CASES]
    return out


def counts(verbose: bool = False) -> dict[str, dict[str, int]]:
    """Run every case; ``{area: {outcome: n, "tried": n}}``."""
    table: dict[str, dict[str, int]] = {}
    for name, case in all_cases():
        with tempfile.TemporaryDirectory() as tmp:
            outcome, detail = run_case(name, case, Path(tmp))
        row = table.setdefault(case.area, {"tried": 0, **dict.fromkeys(OUTCOMES, 0)})
        row["tried"] += 1
        row[outcome] += 1
        if verbose and outcome != "clear":
            print(f"{outcome:9s} {case.id}: {detail.splitlines()[-1] if detail else ''}", file=sys.stderr)
    return table


if __name__ == "__main__":
    os.environ.setdefault("SPIKEKIT_NO_PROGRESS", "1")
    result = counts(verbose="-v" in sys.argv)
    total = {"tried": 0, **dict.fromkeys(OUTCOMES, 0)}
    print(f"{'area':16s} {'tried':>5s} {'clear':>5s} {'silently wrong':>14s} {'traceback':>9s} {'abort':>5s}")
    for area, row in result.items():
        for k in total:
            total[k] += row[k]
        print(
            f"{area:16s} {row['tried']:5d} {row['clear']:5d} {row['silent']:14d} {row['traceback']:9d} "
            f"{row['abort']:5d}"
        )
    print(
        f"{'total':16s} {total['tried']:5d} {total['clear']:5d} {total['silent']:14d} "
        f"{total['traceback']:9d} {total['abort']:5d}"
    )
    if "--json" in sys.argv:
        Path(sys.argv[sys.argv.index("--json") + 1]).write_text(json.dumps(result, indent=1) + "\n")
