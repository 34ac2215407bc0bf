"""What the test suite prints: ids by backend, one progress line per file, skips that say why.

Each test runs pytest on a small suite in a temporary folder with the
project's own tests/conftest.py, as test_tooling.py does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pytest(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "tests" / "conftest.py", folder / "conftest.py")
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -rfE\n")
    environment = {**os.environ, **(env or {})}
    environment.pop("XPDIFF_REQUIRE_BACKENDS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        check=False,
        env=environment,
        timeout=600,
    )


def test_ids_name_the_backend_and_files_print_once(tmp_path: Path) -> None:
    for name in ("test_one.py", "test_two.py"):
        (tmp_path / name).write_text(
            "def test_a(backend):\n    assert backend.name\n\n"
            "def test_b(backend):\n    assert backend.name\n"
        )
    collected = _pytest(tmp_path, "--collect-only", "-q")
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    expected = ["numpy", "numpy_readonly", "array_api_strict", "torch", "jax", "dask"]
    assert sorted(ids) == sorted(
        f"{f}::{t}[{b}]" for f in ("test_one.py", "test_two.py") for t in ("test_a", "test_b")
        for b in expected
    )  # fmt: skip
    # two backends are enough to see the grouping (and need no optional library)
    proc = _pytest(tmp_path, "-k", "numpy")
    progress = [line for line in proc.stdout.splitlines() if line.startswith("test_")]
    assert [line.split()[0] for line in progress] == ["test_one.py", "test_two.py"], proc.stdout


def test_skips_say_which_install_brings_them_back(tmp_path: Path) -> None:
    (tmp_path / "test_some.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('k', range(3))\n"
        "def test_torch(k):\n"
        "    pytest.skip(\"backend torch is not installed: No module named 'torch'\")\n"
        "def test_jax():\n"
        "    pytest.skip(\"could not import 'jax.numpy': No module named 'jax'\")\n"
        "def test_sympy():\n"
        "    pytest.skip(\"could not import 'sympy': No module named 'sympy'\")\n"
        "def test_page():\n"
        "    pytest.skip('README.md needs cyipopt')\n"
        "def test_dtype():\n"
        "    pytest.skip('array_api_strict has no float16')\n"
        "def test_c():\n"
        "    assert True\n"
    )
    proc = _pytest(tmp_path)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    lines = out.splitlines()
    section = lines[lines.index(next(ln for ln in lines if "skipped, by reason" in ln)) :]
    text = "\n".join(section)
    assert "    3  backend torch is not installed: No module named 'torch'" in text
    assert "<- pip install torch==2.13.0" in text
    assert "<- pip install jax" in text
    assert '<- pip install -e ".[test]"' in text
    assert "<- pip install cyipopt-wheels" in text
    dtype_line = next(ln for ln in section if "float16" in ln)
    assert "pip install" not in dtype_line  # no install brings a dtype back
    assert "7 of 8 tests skipped (88%); 6 come back with:" in text
    assert "    3  pip install torch==2.13.0" in text
    assert "CUDA" in text  # the warning that goes with an unpinned torch
    assert "SKIPPED [" not in out
    assert "1 passed, 7 skipped" in lines[-1]  # the result comes last


HYPOTHESIS_SUITE = """
import collections
from hypothesis import given, settings, strategies as st

COUNTS = collections.Counter()

@settings(max_examples=40, database=None, deadline=None)
@given(st.integers())
def test_property(backend, i):
    COUNTS[backend.name] += 1

@settings(max_examples=40, database=None, deadline=None)
@given(st.integers())
def test_no_backend(i):
    COUNTS["none"] += 1

def test_zz_counts():
    print("COUNTS", dict(sorted(COUNTS.items())))
"""


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("0", {"numpy": 40, "numpy_readonly": 40, "array_api_strict": 20, "torch": 20,
               "dask": 20, "jax": 10, "none": 40}),
        ("1", {"numpy": 40, "numpy_readonly": 40, "array_api_strict": 40, "torch": 40,
               "dask": 40, "jax": 40, "none": 40}),
    ],
)  # fmt: skip
def test_fewer_examples_on_slow_backends(
    tmp_path: Path, full: str, expected: dict[str, int]
) -> None:
    (tmp_path / "test_h.py").write_text(HYPOTHESIS_SUITE)
    # NumPy, a half and a quarter, and a test without a backend
    chosen = "numpy or strict or jax or no_backend or counts"
    proc = _pytest(tmp_path, "-s", "-k", chosen, env={"XPDIFF_FULL_EXAMPLES": full})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "COUNTS" in ln)
    counts = eval(line.split("COUNTS", 1)[1])  # a dict literal printed by the suite
    assert counts["numpy"] == 40
    assert set(counts) <= {"numpy", "numpy_readonly", "array_api_strict", "jax", "none"}
    assert counts["none"] == 40  # a test without a backend keeps its count
    for backend, count in counts.items():
        assert count == expected[backend], (backend, counts)
