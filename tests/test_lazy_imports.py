"""``import xpdiff`` loads array mode only; function mode comes with its first name.

Measured in fresh interpreters (``sys.modules`` of this one holds whatever
other tests imported): the modules that ``import xpdiff`` loads, and that
``xd.grad`` and ``from xpdiff import hessian`` bring the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import xpdiff

#: loaded only by a call that needs them (function mode, array mode's plans, CuPy, Dask,
#: process pools)
NOT_AT_IMPORT = (
    "xpdiff._function",
    "xpdiff._numerics",
    "xpdiff._array.arguments",
    "xpdiff._array.planner",
    "xpdiff._array.plans",
    "xpdiff.interop",
    "xpdiff._array.executors.cupy",
    "xpdiff._array.executors.cuda_source",
    "xpdiff._array.executors.dask",
    "concurrent.futures",
    "multiprocessing",
    "fractions",
    "scipy",
    "torch",
    "jax",
    "dask",
    "cupy",
)


def _modules_after(code: str) -> list[str]:
    listing = "import sys, json; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", f"{code}\n{listing}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout.splitlines()[-1])


def test_import_loads_array_mode_only():
    loaded = _modules_after("import xpdiff")
    assert "xpdiff._array.gradient" in loaded
    assert "xpdiff._array.executors.compiled" in loaded
    late = [m for m in loaded if any(m == n or m.startswith(n + ".") for n in NOT_AT_IMPORT)]
    assert not late, f"import xpdiff loads {late}"


def test_function_mode_comes_with_its_first_name():
    loaded = _modules_after(
        "import numpy as np, xpdiff as xd\n"
        "assert np.allclose(xd.grad(lambda x: (x**2).sum(0), np.array([1.0, 2.0])), [2.0, 4.0])\n"
        "from xpdiff import hessian\n"
        "assert hessian.__module__ == 'xpdiff._function.second'"
    )
    assert "xpdiff._function.first" in loaded
    assert "xpdiff._function.second" in loaded


def test_every_public_name_resolves_to_its_module():
    for name in xpdiff.__all__:
        value = getattr(xpdiff, name)
        assert value is not None
        assert name in dir(xpdiff)
    assert xpdiff.GradInfo is xpdiff.DerivativeResult
    with pytest.raises(AttributeError, match="no_such_name"):
        xpdiff.no_such_name  # noqa: B018
