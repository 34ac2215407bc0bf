"""The examples in README.md and the docs' pages run and print what they show.

Docstring examples are collected by ``--doctest-modules``; this module covers
the Markdown pages, and checks that .ci/run runs README's two commands.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_BACKENDS = os.environ.get("XPDIFF_REQUIRE_BACKENDS", "") == "1"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples(page):
    text = page.read_text()
    for module in ("torch", "jax", "array_api_strict", "cyipopt"):
        if f"import {module}" in text and importlib.util.find_spec(module) is None:
            if REQUIRE_BACKENDS:
                pytest.fail(f"{page.name} needs {module}, which is missing")
            pytest.skip(f"{page.name} needs {module}")
    result = doctest.testfile(
        str(page), module_relative=False, optionflags=FLAGS, verbose=False, report=True
    )
    assert result.failed == 0, f"{result.failed} example(s) of {page.name} failed"


def test_readme_quick_start_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S)
    assert block, "README has no Quick start bash block"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "VENV=.ci/venv" in ci, ".ci/run must keep its environment apart from a user's .venv"
    for command in commands:
        # the same command, in CI's own environment directory
        command = command.replace(".venv", '"$VENV"')
        assert command in ci, f".ci/run does not run README's command: {command}"
