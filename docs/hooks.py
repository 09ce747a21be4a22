"""mkdocs hooks: pages generated at build time, so that none of them can go stale.

- ``cli.md``: every subcommand's ``--help``, from ``spikekit.cli.build_parser()`` (``docs/gen_cli.py``);
- ``tutorials/<name>.md``: each ``examples/tutorials/*.py`` (jupytext percent format) as a page, its
  Markdown cells as text and its code cells as code;
- ``benchmarks.md``: the README's figures and ``benchmarks/README.md``, links rewritten for the site.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", Path(__file__).with_name("gen_cli.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tutorial_page(script: Path) -> str:
    """A jupytext percent script as Markdown: ``# %% [markdown]`` cells uncommented, ``# %%`` cells fenced."""
    text = script.read_text()
    text = re.sub(r"\A# ---\n(?:#.*\n)*?# ---\n", "", text)  # the jupytext header
    cells = re.split(r"^# %%(.*)\n", text, flags=re.M)
    out = []
    for kind, body in zip(cells[1::2], cells[2::2], strict=True):
        body = body.strip("\n")
        if "[markdown]" in kind:
            out.append(
                "\n".join(
                    line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines()
                )
            )
        elif body:
            out.append(f"```python\n{body}\n```")
    rel = script.relative_to(ROOT)
    note = (
        f'!!! note "Runnable"\n    This page is `{rel}`: run it with `python {rel}`, or open it as a '
        f"notebook with `jupytext --to notebook {rel}`. The tests run it at small size "
        "(`SPIKEKIT_TUTORIAL_SMALL=1`)."
    )
    first, *rest = out
    return "\n\n".join([first, note, *rest]) + "\n"


def benchmarks_page() -> str:
    readme = (ROOT / "README.md").read_text()
    figures = readme[readme.index("## Figures") : readme.index("## Development")]
    figures = figures.replace("](docs/", "](").replace("## Figures", "## Figures (from the README)", 1)
    bench = (ROOT / "benchmarks" / "README.md").read_text()
    bench = re.sub(r"^# Benchmarks\n", "## The benchmark scripts (`benchmarks/README.md`)\n", bench)
    bench = re.sub(r"^## (?!The benchmark)", "### ", bench, flags=re.M)
    return "# Benchmarks\n\n" + figures.strip() + "\n\n" + bench


def on_files(files, config):
    files.append(File.generated(config, "cli.md", content=_gen_cli().render()))
    files.append(File.generated(config, "benchmarks.md", content=benchmarks_page()))
    for script in sorted((ROOT / "examples" / "tutorials").glob("*.py")):
        name = script.stem.replace("_", "-")
        files.append(File.generated(config, f"tutorials/{name}.md", content=tutorial_page(script)))
    return files
