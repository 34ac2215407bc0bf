"""gpu_tests/run_gpu_checks.sh: its arguments, and its dry run (no GPU, no install)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "gpu_tests" / "run_gpu_checks.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def wheels(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def test_arguments_are_checked(tmp_path):
    for args in ((), ("only-one",), ("a", "b", "--wet"), ("a", "b", "--dry-run", "d")):
        proc = run(*args, cwd=tmp_path)
        assert proc.returncode == 2, args
        assert "usage:" in proc.stderr
    proc = run(str(tmp_path / "missing"), str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    folder = wheels(tmp_path / "w", "xpdiff-0.1.0-py3-none-any.whl")
    proc = run(str(folder), str(tmp_path / "out"), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no array_api_compat-*.whl" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing written before the arguments are right


def test_dry_run_collects_gpu_tests_and_runs_the_benchmark_dry(tmp_path):
    folder = wheels(
        tmp_path / "w",
        "xpdiff-0.1.0-py3-none-any.whl",
        "array_api_compat-1.12.0-py3-none-any.whl",
    )
    out = tmp_path / "out"
    proc = run(str(folder), str(out), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = (out / "pytest_summary.txt").read_text()
    assert "tests collected" in summary
    assert "no figure here is a GPU figure" in (out / "bench_gpu.md").read_text()
    assert "bench_gpu --dry-run exit 0" in proc.stdout
