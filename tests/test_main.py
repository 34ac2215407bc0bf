"""``python -m xpdiff``: it lists the backends and its demo agrees with numpy.gradient."""

from __future__ import annotations

import subprocess
import sys

from xpdiff.__main__ import find_backends, main


def test_main_lists_backends_and_runs_demo(capsys):
    assert main() == 0
    out = capsys.readouterr().out
    assert "Backends found:" in out
    for name in ("NumPy", "CuPy", "PyTorch", "JAX", "Dask", "array-api-strict"):
        assert f"  {name} " in out
    assert out.count("equals numpy.gradient") == 9
    assert "DIFFERS" not in out
    assert out.rstrip().endswith("All examples equal numpy.gradient.")


def test_numpy_always_usable():
    found = find_backends()
    assert found[0].name == "NumPy"
    assert found[0].usable


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "xpdiff"], capture_output=True, text=True, check=False, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "All examples equal numpy.gradient." in proc.stdout


def test_import_does_not_load_optional_backends():
    code = (
        "import sys, xpdiff; "
        "print(sorted(m for m in ('cupy', 'torch', 'jax', 'dask') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.strip() == "[]"
