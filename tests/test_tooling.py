"""The developer's tools: a default pytest run ends with its result, not 450 skip lines."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_skips_are_summarised_by_reason(tmp_path):
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_some.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('k', range(3))\n"
        "def test_a(k):\n"
        "    pytest.skip('backend torch is not installed: No module named torch')\n"
        "def test_b():\n"
        "    pytest.skip('another reason')\n"
        "def test_c():\n"
        "    assert True\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -rfE\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "skipped, by reason" in out
    assert "    3  backend torch is not installed: No module named torch" in out
    assert "    1  another reason" in out
    assert "SKIPPED [" not in out  # no line per skipped test
    assert "1 passed, 4 skipped" in out.rstrip().splitlines()[-1]  # the result comes last


def test_the_project_reports_failures_and_errors_only():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"-rfE"' in pyproject
    assert '"-ra"' not in pyproject
