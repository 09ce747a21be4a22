"""Write the command-line reference from ``spikekit.cli.build_parser()``: every (sub)command's ``--help``.

The mkdocs hook (``docs/hooks.py``) calls :func:`render` at every build, so ``cli.md`` in the site always
matches the parser; ``python docs/gen_cli.py [PATH]`` writes the same page to ``PATH`` (default: stdout).
"""

from __future__ import annotations

import argparse
import os
import sys

WIDTH = "100"  # argparse wraps help at $COLUMNS


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices.items())
    return []


def _sections(name: str, parser: argparse.ArgumentParser, level: int) -> list[str]:
    out = [f"{'#' * level} `{name}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for sub, subparser in _subcommands(parser):
        out += _sections(f"{name} {sub}", subparser, level + 1)
    return out


def render() -> str:
    """The page, in Markdown."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        from spikekit.cli import build_parser

        parser = build_parser()
        lines = [
            "# Command line reference",
            "",
            "Generated from the parsers (`spikekit.cli.build_parser()`) when the site is built: each",
            "subcommand's `--help`, exactly. Every command accepts `--debug` (the traceback of an error)",
            "and, where listed, `--json PATH`. How errors are reported: [Conventions](conventions.md).",
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
            "",
        ]
        for sub, subparser in _subcommands(parser):
            lines += _sections(f"spikekit {sub}", subparser, 2)
        return "\n".join(lines)
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


if __name__ == "__main__":
    page = render()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(page)
    else:
        print(page)
