"""Function mode never brings a value of the work to the host: no device synchronisation.

On a GPU, ``float()``, ``bool()``, ``int()``, an ``if`` on an array, a
conversion to NumPy or a transfer to the CPU each wait for the device to
finish. Here array-api-strict arrays refuse all of them while a derivative is
computed (grad, jacobian, hessian, genD; every method, sides, a batch of
points, full_output): a derivative that needed one would fail. The number of
array operations per derivative is held constant by tests/test_engine.py.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import xpdiff as xd

xps = pytest.importorskip("array_api_strict")

#: what brings an array's values to the host (and on a GPU waits for the device)
TO_HOST = (
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__complex__",
    "__array__",
    "__dlpack__",
    "to_device",
    "__iter__",
)


@contextlib.contextmanager
def values_stay_on_the_device():
    """Inside, any of :data:`TO_HOST` on an array-api-strict array raises AssertionError."""
    array_type = type(xps.asarray(1.0))
    saved = {name: getattr(array_type, name) for name in TO_HOST}

    def refusing(name):
        def refuse(self, *args, **kwargs):
            raise AssertionError(f"a host synchronisation: {name} of a work array")

        return refuse

    for name in TO_HOST:
        setattr(array_type, name, refusing(name))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(array_type, name, method)


def scalar_func(p):
    return xps.sum(xps.sin(p) * p, axis=0)


def vector_func(p):
    return xps.stack([xps.sin(p[0, ...]) * p[1, ...], p[0, ...] ** 2 + p[2, ...]], axis=0)


def test_the_guard_catches_a_synchronising_func():
    x = xps.asarray([0.3, -0.7, 1.2])
    with values_stay_on_the_device(), pytest.raises(AssertionError, match="__float__"):
        xd.grad(lambda p: float(xps.sum(p)) + xps.sum(p, axis=0), x)
    assert float(xps.sum(x)) == pytest.approx(0.8)  # restored afterwards


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
@pytest.mark.parametrize("shape", [(3,), (3, 4)])
def test_first_derivatives_do_not_synchronise(method, shape):
    x = xps.asarray(np.linspace(-1.0, 1.2, int(np.prod(shape))).reshape(shape))
    side = None if method == "complex" else [1, None, -1]
    with values_stay_on_the_device():
        g = xd.grad(scalar_func, x, method)
        J = xd.jacobian(vector_func, x, method, side=side)  # one-sided for some coordinates
        g_full, info = xd.grad(scalar_func, x, method, full_output=True)
    exact = xps.sin(x) + x * xps.cos(x)
    tolerance = 1e-3 if method == "simple" else 1e-8
    assert float(xps.max(xps.abs(g - exact))) < tolerance
    assert float(xps.max(xps.abs(g_full - g))) == 0.0
    assert J.shape == (2, *shape)
    assert info is not None


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_second_derivatives_do_not_synchronise(method):
    x = xps.asarray([0.3, -0.7, 1.2])
    with values_stay_on_the_device():
        H = xd.hessian(scalar_func, x, method)
        D = xd.genD(vector_func, x).D if method == "Richardson" else None
    exact = xps.linalg.diagonal(H) - (2 * xps.cos(x) - x * xps.sin(x))
    assert float(xps.max(xps.abs(exact))) < 1e-6
    assert D is None or D.shape == (2, 9)


def test_adaptive_and_the_other_functions_do_not_synchronise():
    """Every evaluation checks that func does not mix points: on the device, no read."""
    x = xps.asarray([0.3, -0.7, 1.2])
    with values_stay_on_the_device():
        g = xd.grad(scalar_func, x, method="adaptive")
        H = xd.hessian(scalar_func, x, method="adaptive")
        d2 = xd.derivative(xps.sin, x, n=2)
        hv = xd.hvp(scalar_func, x, x)
        jv = xd.jvp(vector_func, x, x)
        split = xd.grad(scalar_func, x, max_batch=12)  # the check's points in one more call
    exact = xps.sin(x) + x * xps.cos(x)
    assert float(xps.max(xps.abs(g - exact))) < 1e-9
    assert float(xps.max(xps.abs(split - exact))) < 1e-8
    assert float(xps.max(xps.abs(d2 + xps.sin(x)))) < 1e-6
    assert H.shape == (3, 3)
    assert hv.shape == (3,)
    assert jv.shape == (2,)
