"""A griffe extension for the API reference: spikekit's docstrings head their doctests ``Example:``,
which griffe's Google parser reads as an admonition (the ``>>>`` lines as prose); read it as the
``Examples:`` section instead, so the doctests render as code."""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
