"""xpdiff's own exceptions are public: importable, printed by that name, still built-in types."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xpdiff as xd
from xpdiff import errors


def test_errors_module_is_public():
    assert xd.errors is errors
    assert "errors" in xd.__all__
    assert sorted(errors.__all__) == ["BatchShapeError", "FuncResultError", "ResultTypeError"]
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert cls.__module__ == "xpdiff.errors"
        assert cls.__qualname__ == name
    assert issubclass(errors.BatchShapeError, ValueError)
    assert issubclass(errors.ResultTypeError, TypeError)
    assert not issubclass(errors.BatchShapeError, TypeError)
    assert issubclass(errors.BatchShapeError, errors.FuncResultError)
    assert issubclass(errors.ResultTypeError, errors.FuncResultError)


def test_raised_classes_are_the_public_ones():
    with pytest.raises(errors.BatchShapeError, match=r"returned shape \(2,\)"):
        xd.grad(lambda p: np.sum(p**2, axis=-1), np.array([1.0, 2.0]))
    with pytest.raises(errors.ResultTypeError, match="returned NoneType"):
        xd.grad(lambda p: None, np.array([1.0, 2.0]))
    # still caught by the built-in classes code written for numpy would catch
    with pytest.raises(ValueError, match="for a batch of points"):
        xd.jacobian(lambda p: np.stack([p[0], p[1]]).sum(axis=-1), np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="complex values"):
        xd.hessian(lambda p: p[0] * 1j, np.array([1.0, 2.0]))


def test_func_own_exception_is_not_wrapped():
    def func(p):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine") as info:
        xd.grad(func, np.array([1.0, 2.0]))
    assert not isinstance(info.value, errors.FuncResultError)


def test_traceback_prints_an_importable_name():
    code = "import numpy as np, xpdiff as xd\nxd.grad(lambda p: 'one', np.array([1.0, 2.0]))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 1
    last = [line for line in proc.stderr.splitlines() if "Error" in line][-1]
    assert last.startswith("xpdiff.errors.ResultTypeError: func returned str 'one'"), last
    name = last.split(":")[0]
    module = name.rpartition(".")[0]
    check = f"import {module}; print(issubclass({name}, TypeError))"
    assert (
        subprocess.run(
            [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=120
        ).stdout.strip()
        == "True"
    )
    assert repr(errors.ResultTypeError("x")) == "ResultTypeError('x')"


# --- func mixing libraries: NumPy's functions on another library's arrays -------------


def _notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


@pytest.mark.parametrize("vectorized", [True, False])
def test_numpy_function_on_torch_points_is_explained(vectorized):
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)

    def func(p):
        return np.sum(p**2, axis=0)  # torch's sum() takes dim=, not axis=

    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'") as info:
        xd.grad(func, x, vectorized=vectorized)
    assert not isinstance(info.value, errors.FuncResultError)  # func's own exception
    notes = _notes(info.value)
    assert "func received a torch array (torch.Tensor)" in notes
    assert "array_api_compat.array_namespace(p)" in notes
    assert "xp.sum(p, axis=0)" in notes
    assert torch.equal(x, torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_numpy_function_on_torch_batch_is_explained():
    """Fine at x (a 1-d point), failing on the batch: the library note and the batch note."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)

    def func(p):
        if p.ndim == 1:
            return torch.sum(p**2)
        return np.sum(p**2, axis=0)

    with pytest.raises(TypeError, match="axis") as info:
        xd.grad(func, x)
    notes = _notes(info.value)
    assert "func received a torch array" in notes
    assert "xpdiff called func on a batch of points" in notes


def test_no_library_note_where_libraries_are_not_mixed():
    torch = pytest.importorskip("torch")

    def fails_inside_numpy(p):
        return np.reshape(p, (7,))  # NumPy's own ValueError, on NumPy points

    with pytest.raises(ValueError, match="reshape") as info:
        xd.grad(fails_inside_numpy, np.array([1.0, 2.0]))
    assert "func received" not in _notes(info.value)

    def fails_in_torch(p):
        return torch.reshape(p, (7,))  # torch's own error, no NumPy involved

    with pytest.raises(RuntimeError) as info:
        xd.grad(fails_in_torch, torch.tensor([1.0, 2.0]))
    assert "func received" not in _notes(info.value)
