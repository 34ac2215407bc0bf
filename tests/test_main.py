"""``python -m xpdiff``: backends with install hints, array mode and function mode, --help."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import xpdiff as xd
from xpdiff.__main__ import (
    BACKENDS,
    Counted,
    find_backends,
    main,
    rosenbrock,
    rosenbrock_gradient,
    rosenbrock_hessian,
)
from xpdiff._function.mixing import EXTRA

REQUIRE_BACKENDS = os.environ.get("XPDIFF_REQUIRE_BACKENDS", "") == "1"
MODULES = {"torch": "torch", "jax": "jax", "dask": "dask", "array_api_strict": "array_api_strict"}


def test_default_run_shows_both_modes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "Backends found:" in out
    for name in ("NumPy", "CuPy", "PyTorch", "JAX", "Dask", "array-api-strict"):
        assert f"\n  {name} " in out
    # array mode: the nine examples, each checked
    assert out.count("equals numpy.gradient") == 9
    assert "DIFFERS" not in out
    assert "All examples equal numpy.gradient." in out
    # function mode: one batched call against 1 + 2*4*20 calls of one point
    # 1 + 2 r n points of the derivative, then the copy of x and the sentinel of the check
    assert re.search(r"grad, batched +2 +161 ", out), out  # timed: func passed the check
    assert f"call held {EXTRA} more, a copy of x and a sentinel" in out
    assert re.search(r"grad, point by point +161 +161 ", out), out
    assert "hessian (20 x 20), batched: 2 calls" in out
    # times after warm-up, and the warm-up said to be one
    assert "after a warm-up call" in out
    assert "after a warm-up one" in out
    assert re.search(r"All checks passed on \S+\.$", out.rstrip()), out[-300:]


def test_function_mode_counts_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--mode", "function", "--dim", "5", "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "Array mode" not in out
    # 1 + 2 * r * n points with numDeriv's r = 4
    assert re.search(r"grad, batched +2 +41 ", out), out
    assert re.search(r"grad, point by point +41 +41 ", out), out
    errors = [float(e) for e in re.findall(r"  (\d+e[-+]\d+)\n", out)]
    assert len(errors) == 2, out
    assert max(errors) < 1e-8, out


def test_demo_function_and_exact_derivatives() -> None:
    x = np.linspace(-1.2, 1.0, 6)
    counted = Counted(rosenbrock, vectorized=True)
    g = xd.grad(counted, x)
    np.testing.assert_allclose(g, rosenbrock_gradient(x), rtol=1e-9, atol=1e-9)
    assert counted.calls == 2
    assert counted.points == 1 + 2 * 4 * 6 + EXTRA  # with the check's copy of x and sentinel
    h = xd.hessian(rosenbrock, x)
    np.testing.assert_allclose(h, rosenbrock_hessian(x), rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(rosenbrock_hessian(x), rosenbrock_hessian(x).T)


@pytest.mark.parametrize("backend", ["torch", "jax", "dask", "array_api_strict"])
def test_each_backend_runs_both_modes(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec(MODULES[backend]) is None:
        if REQUIRE_BACKENDS:
            pytest.fail(f"backend {backend} is required here but missing")
        pytest.skip(f"backend {backend} is not installed")
    assert main(["--backend", backend, "--dim", "4", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("equals numpy.gradient") == 9
    # the mixing check's copy of x and sentinel join the first call on every backend, and
    # every timed one where values are off the host (never read: never remembered)
    host = backend in ("torch", "jax")
    assert re.search(rf"grad, batched +2 +{33 + (0 if host else EXTRA)} ", out), out
    assert ("call held 2 more" in out) == host, out
    assert "All checks passed on" in out


def test_missing_backends_have_install_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("cupy", "torch", "jax", "jax.numpy", "dask", "dask.array", "array_api_strict"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    found = {b.key: b for b in find_backends()}
    assert list(found) == list(BACKENDS)
    assert found["numpy"].available
    assert not found["numpy"].hint
    for key in BACKENDS[1:]:
        assert not found[key].available
        assert found[key].status == "not installed"
        assert "pip install" in found[key].hint
    assert "cupy-cuda12x" in found["cupy"].hint
    assert "cupy-cuda13x" in found["cupy"].hint
    assert "pip install torch" in found["torch"].hint
    assert "CUDA" in found["torch"].hint
    assert "CPU" in found["torch"].hint
    assert "pip install jax" in found["jax"].hint
    assert "pip install 'dask[array]'" in found["dask"].hint
    assert "pip install array-api-strict" in found["array_api_strict"].hint
    for b in found.values():  # package names only, never a registry's address
        assert "://" not in b.hint
        assert ".org" not in b.hint
        assert ".com" not in b.hint


def test_missing_backend_chosen_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert main(["--backend", "cupy"]) == 2
    captured = capsys.readouterr()
    assert "to use it: pip install cupy-cuda13x" in captured.out
    assert "--backend cupy: CuPy is not installed" in captured.err
    assert "Array mode" not in captured.out


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--backend", "tensorflow"], ["--dim", "1"], ["--repeat", "0"], ["--bogus"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "invalid choice: 'tensorflow'" in capsys.readouterr().err


def test_numpy_always_available() -> None:
    found = find_backends()
    assert found[0].name == "NumPy"
    assert found[0].available


def test_module_entry_point_and_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "xpdiff", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m xpdiff")
    for option in ("--backend", "--mode", "--dim", "--repeat", "array_api_strict"):
        assert option in proc.stdout
    assert "Backends found" not in proc.stdout  # --help runs nothing
    proc = subprocess.run(
        [sys.executable, "-m", "xpdiff", "--repeat", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "All examples equal numpy.gradient." in proc.stdout
    assert "All checks passed on" in proc.stdout


def test_import_does_not_load_optional_backends() -> None:
    code = (
        "import sys, xpdiff; "
        "print(sorted(m for m in ('cupy', 'torch', 'jax', 'dask') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.strip() == "[]"
