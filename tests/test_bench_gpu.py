"""benchmarks/bench_gpu.py checks its own setup without a GPU (--dry-run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_gpu

from xpdiff._function.mixing import EXTRA


def test_dry_run_writes_every_table(tmp_path, capsys):
    assert bench_gpu.main(["--dry-run", "--repeat", "1", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "bench_gpu.md").read_text()
    assert text.strip() == capsys.readouterr().out.strip()
    assert "no figure here is a GPU figure" in text
    for name, *_ in bench_gpu.gradient_cases(64, 16):
        assert f"| {name} | float32 |" in text
        assert f"| {name} | float64 |" in text
    for name, *_ in bench_gpu.option_cases(64):
        assert f"| {name} | float32 |" in text
    for n in (10, 100):
        assert f"\n| {n} | " in text
    # grad's batch: 8 points per coordinate (Richardson), then the mixing check's two
    assert f"| 64 | (64, {512 + EXTRA}) |" in text
    rows = [line for line in text.splitlines() if line.startswith("| 64x64, both axes")]
    for library in ("torch", "jax"):  # their columns filled where the library is installed
        try:
            __import__(library)
        except ImportError:
            continue
        column = 5 if library == "torch" else 6
        assert all("x " in row.split("|")[column] for row in rows), rows


def test_without_cupy_it_says_to_dry_run(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(SystemExit) as exit_info:
        bench_gpu.main([])
    assert exit_info.value.code == 2
    assert "--dry-run" in capsys.readouterr().err
