"""full_output=True: one result type, named per function, that unpacks as (value, info)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import xpdiff as xd


def sphere(x):
    return (x**2).sum(axis=0)


def vector(x):
    return np.stack([x[0] * x[1], np.sin(x[0])])


CASES = [
    (xd.grad, sphere, xd.GradResult, (3,)),
    (xd.jacobian, vector, xd.JacobianResult, (2, 3)),
    (xd.hessian, sphere, xd.HessianResult, (3, 3)),
]


@pytest.mark.parametrize(("function", "func", "cls", "shape"), CASES)
def test_full_output_is_a_named_result_that_unpacks(function, func, cls, shape):
    x = np.array([1.0, 2.0, 3.0])
    res = function(func, x, full_output=True)
    assert type(res) is cls
    assert isinstance(res, xd.DerivativeResult)
    value, info = res
    assert info is res
    assert value is res.value
    assert res[0] is res.value
    assert res[1] is res
    assert len(res) == 2
    assert value.shape == shape
    assert res.error.shape == shape
    # the same bits as without full_output
    np.testing.assert_array_equal(value, function(func, x))
    assert res.nfev >= 1
    assert res.ncalls >= 1
    assert res.method == "Richardson"
    assert res.method_args["r"] == 4
    assert "error" in res.keys()  # noqa: SIM118 (a result, not a dict)
    assert "value" in repr(res)


def test_genD_result_holds_the_genD_object():
    res = xd.genD(vector, [1.0, 2.0], full_output=True)
    assert type(res) is xd.GenDResult
    D, info = res
    assert isinstance(D, xd.GenD)
    assert info is res
    assert res.error.shape == D.D.shape
    np.testing.assert_array_equal(D.D, xd.genD(vector, [1.0, 2.0]).D)


def test_adaptive_result_has_order_and_step():
    res = xd.grad(sphere, [1.0, 2.0], method="adaptive", full_output=True)
    assert res.order.shape == (2,)
    assert res.step.shape == (2,)
    assert res.table is None


def test_func_and_x_are_positional_only():
    with pytest.raises(TypeError):
        xd.grad(func=sphere, x=[1.0])
    with pytest.raises(TypeError):
        xd.hessian(sphere, x=[1.0])


def test_mypy_sees_the_overloads(tmp_path):
    """full_output=True is typed as the result class, the default as an array."""
    pytest.importorskip("mypy")
    source = tmp_path / "use.py"
    source.write_text(
        textwrap.dedent(
            """
            import numpy as np
            import xpdiff as xd
            res = xd.grad(lambda x: x.sum(axis=0), np.ones(2), full_output=True)
            reveal_type(res)
            reveal_type(xd.hessian(lambda x: x.sum(axis=0), np.ones(2), full_output=True))
            reveal_type(xd.genD(lambda x: x.sum(axis=0), np.ones(2)))
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(source)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert 'Revealed type is "xpdiff._function.results.GradResult"' in out, out
    assert 'Revealed type is "xpdiff._function.results.HessianResult"' in out, out
    assert 'Revealed type is "xpdiff._function.second.GenD"' in out, out
