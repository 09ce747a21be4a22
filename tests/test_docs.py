"""Every code block of README.md and docs/*.md is checked: ```python blocks run, ```sh command lines parse.

``python`` blocks: each page's blocks run in order in one namespace, in one subprocess whose working
directory is a fresh temporary folder (so files a snippet writes land there). A traceback names the page
and the line of the Markdown file. HTML comments on the lines just before a block's fence change how it
runs, and say so in the page's source:

- ``<!-- needs: SPIKEKIT_DATA -->``: an environment variable (upper case) or an importable module (lower
  case), comma separated; the block is skipped, with that reason, when one is absent;
- ``<!-- small: OLD => NEW -->``: the test runs the block with ``OLD`` replaced by ``NEW`` (e.g. fewer
  images or epochs); ``OLD`` must occur in the block, so a stale marker fails;
- ``<!-- not run: REASON -->``: illustrative only, for what cannot run here (several machines, a GPU).

``sh``/``bash`` blocks (and ``text``/untyped ones, for option names only): every ``spikekit ...``
command (also after ``torchrun ... -m`` or ``--no-python``) must be accepted by
``spikekit.cli.build_parser().parse_args`` (not executed); lines with a ``...`` placeholder or
``[optional]`` synopsis brackets are only checked for option names. Every ``--option`` of a ``spikekit``
command, in any block and in inline code in the prose, must be an option of its subcommand spelled in
full: a renamed option fails here.

The examples in ``examples/tutorials/`` run at small size (``SPIKEKIT_TUTORIAL_SMALL=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TUTORIALS = sorted((ROOT / "examples" / "tutorials").glob("*.py"))
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(needs|small|not run)\s*:\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    page: Path
    lang: str
    line: int  # 1-based line of the block's first code line in the page
    code: str
    markers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def marker(self, key: str) -> list[str]:
        return [value for k, value in self.markers if k == key]


def blocks_of(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, with the marker comments right above each fence."""
    lines = page.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        markers = []
        j = i - 1
        while j >= 0 and (MARKER.match(lines[j]) or not lines[j].strip()):
            if mm := MARKER.match(lines[j]):
                markers.insert(0, (mm.group(1), mm.group(2)))
            j -= 1
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]]
        blocks.append(Block(page, lang, i + 2, "\n".join(body) + "\n", markers))
        i = end + 1
    return blocks


def unmet_needs(block: Block) -> list[str]:
    missing = []
    for value in block.marker("needs"):
        for need in (n.strip() for n in value.split(",")):
            if need.isupper():
                path = os.environ.get(need, "")
                if not path or not Path(path).exists():
                    missing.append(f"${need} not set or absent")
            elif find_spec(need) is None:
                missing.append(f"module {need} not installed")
    return missing


def small(block: Block) -> str:
    code = block.code
    for value in block.marker("small"):
        old, sep, new = value.partition(" => ")
        assert sep, f"{block.where}: a small marker reads 'OLD => NEW', got {value!r}"
        assert old in code, f"{block.where}: small marker's {old!r} is not in the block (stale marker?)"
        code = code.replace(old, new)
    return code


# ------------------------------------------------------------------------------------- python blocks
DRIVER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for page, line, code in json.load(open(sys.argv[1])):
    print(f"--- {page}:{line}", flush=True)
    exec(compile("\\n" * (line - 1) + code, page, "exec"), namespace)
"""


def python_pages() -> list[Path]:
    return [page for page in PAGES if any(b.lang == "python" for b in blocks_of(page))]


def test_python_blocks_are_all_found():
    """The pages with Python blocks, and how many of them run (the count is printed with -s)."""
    counts = {"run": 0, "not run": 0, "needs": 0}
    for page in PAGES:
        for block in blocks_of(page):
            if block.lang != "python":
                continue
            reasons = block.marker("not run")
            for reason in reasons:
                assert len(reason) > 5, f"{block.where}: 'not run' needs a reason"
            counts["not run" if reasons else "needs" if block.marker("needs") else "run"] += 1
    print(f"python blocks: {counts}")
    assert counts["run"] + counts["needs"] >= 14


@pytest.mark.parametrize("page", python_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path):
    """Every ```python block of the page runs, in order, in one namespace."""
    todo, skipped = [], []
    for block in blocks_of(page):
        if block.lang != "python" or block.marker("not run"):
            continue
        missing = unmet_needs(block)
        if missing:
            skipped.append(f"line {block.line}: " + "; ".join(missing))
            continue
        todo.append((str(block.page.relative_to(ROOT)), block.line, small(block)))
    if todo:
        (tmp_path / "blocks.json").write_text(json.dumps(todo))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, str(tmp_path / "blocks.json")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (done.stdout[-2000:] + "\n" + done.stderr[-4000:]).strip()
    if skipped:
        pytest.skip(f"ran {len(todo)} block(s); skipped " + ", ".join(skipped))


# ------------------------------------------------------------------------------------- command lines
def spikekit_argv(tokens: list[str]) -> list[str] | None:
    """The arguments after ``spikekit`` in a command (``spikekit``, ``-m spikekit``, ``--no-python``)."""
    for k, token in enumerate(tokens):
        if token == "spikekit" and (k == 0 or tokens[k - 1] in ("-m", "--no-python")):
            return tokens[k + 1 :]
        if token.startswith("#"):
            return None
    return None


def command_lines(block: Block) -> list[list[str]]:
    """Each ``spikekit`` command of a shell block, as its arguments (continuations joined, comments cut)."""
    text = re.sub(r"\\\n\s*", " ", block.code)
    commands = []
    for line in text.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        argv = spikekit_argv(tokens)
        if argv is not None:
            commands.append(argv)
    return commands


def sub_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The (sub)parser that reads ``argv``'s options, and the command's name."""
    from spikekit.cli import build_parser

    parser, names = build_parser(), ["spikekit"]
    for token in argv:
        if token.startswith("-"):
            continue
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or token not in subs[0].choices:
            break
        parser = subs[0].choices[token]
        names.append(token)
    return parser, names


def option_errors(argv: list[str]) -> list[str]:
    """Options of ``argv`` that its subcommand does not have under exactly that name."""
    parser, names = sub_parser(argv)
    known = set(parser._option_string_actions) | {"--debug"}
    return [
        f"{' '.join(names)} has no option {token.split('=')[0]}"
        for token in argv
        if token.startswith("--") and token.split("=")[0] not in known and token != "--"
    ]


def every_command() -> list[tuple[str, list[str], bool]]:
    """``(where, argv, parse)`` for each spikekit command in the pages' blocks and inline code."""
    found = []
    for page in PAGES:
        for block in blocks_of(page):
            if block.lang in ("sh", "bash", "console", "shell", "text", "") and "spikekit" in block.code:
                for argv in command_lines(block):
                    synopsis = "..." in argv or any(a.startswith("[") or a.endswith("]") for a in argv)
                    found.append((block.where, argv, block.lang not in ("text", "") and not synopsis))
        prose = re.sub(r"^(\s*)```.*?^\1```", "", page.read_text(), flags=re.S | re.M)
        for span in re.findall(r"`(spikekit [^`\n]+)`", prose):
            argv = spikekit_argv(shlex.split(span.replace("...", "")))
            if argv:
                found.append((f"{page.relative_to(ROOT)} (inline)", argv, False))
    return found


def parse_error(argv: list[str]) -> str | None:
    """argparse's error for ``argv`` (``None``: accepted). Run in an empty folder: a file or folder the
    line names that does not exist (a checkpoint a previous line would have written) is created empty."""
    import contextlib
    import io

    from spikekit.cli import build_parser

    for _ in range(8):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                build_parser().parse_args(argv)
            return None
        except SystemExit as exc:
            lines = err.getvalue().strip().splitlines()
            message = lines[-1] if lines else f"exit {exc.code}"
            missing = re.search(r"no such (file or folder|file|folder): '([^']+)'", message)
            if not missing or Path(missing.group(2)).exists():
                return message
            path = Path(missing.group(2))
            if missing.group(1) == "file" or (missing.group(1) != "folder" and path.suffix):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True)
    return message


def test_command_lines_in_the_docs_parse(tmp_path, monkeypatch):
    """Each documented command line is accepted by the CLI's parser, with its options' current names."""
    monkeypatch.chdir(tmp_path)
    commands = every_command()
    assert sum(parse for _, _, parse in commands) >= 15, "the README's and docs' command lines were found"
    errors = []
    for where, argv, parse in commands:
        errors += [f"{where}: {e}" for e in option_errors(argv)]
        if parse and (message := parse_error(argv)):
            errors.append(f"{where}: spikekit {' '.join(argv)} is refused: {message}")
    assert not errors, "\n".join(errors)


# ------------------------------------------------------------------------------------- tutorials
@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.name)
def test_tutorials_run_small(script, tmp_path):
    """Each tutorial runs end to end at small size (``SPIKEKIT_TUTORIAL_SMALL=1``)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "SPIKEKIT_TUTORIAL_SMALL": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, (done.stdout[-2000:] + "\n" + done.stderr[-4000:]).strip()


def test_there_are_tutorials():
    assert len(TUTORIALS) >= 2
    for script in TUTORIALS:
        assert script.read_text().startswith("# ---\n# jupyter:"), f"{script.name}: jupytext percent header"
