"""numpy's own TestGradient (numpy/lib/tests/test_function_base.py), on every backend.

Each numpy test is kept with its inputs and expectations; inputs are made on
the backend under test and every result is checked for namespace, device,
dtype and shape as well as values. Tests of NumPy-only types (datetime64,
timedelta64, masked arrays) run on NumPy alone, as there is nothing to port.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_gradient_equal
from numpy.exceptions import AxisError

import xpdiff as xd


def _both(backend, *args, **kwargs):
    """xpdiff on the backend's arrays, and numpy.gradient on the NumPy originals."""
    converted = [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    return xd.gradient(*converted, **kwargs), np.gradient(*args, **kwargs)


def test_basic(backend):
    v = [[1, 1], [3, 4]]
    x = np.array(v)
    dx = (np.array([[2.0, 3.0], [2.0, 3.0]]), np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert_gradient_equal(backend, xd.gradient(backend.asarray(x)), dx)
    # Python lists mean NumPy
    res = xd.gradient(v)
    assert isinstance(res, tuple)
    for r, e in zip(res, dx, strict=True):
        np.testing.assert_array_equal(r, e, strict=True)


def test_args(backend):
    dx = np.cumsum(np.ones(5))
    dx_uneven = [1.0, 2.0, 5.0, 9.0, 11.0]
    f_2d = np.arange(25).reshape(5, 5)
    f_1d = np.arange(5)

    for args, kwargs in [
        ((f_1d, 3.0), {}),
        ((f_1d, np.array(3.0)), {}),
        ((f_1d, dx), {}),
        ((f_2d, 1.5), {}),
        ((f_2d, np.array(1.5)), {}),
        ((f_2d, dx_uneven, dx_uneven), {}),
        ((f_2d, dx, 2), {}),
        ((f_2d, dx), {"axis": 1}),
    ]:
        res, exp = _both(backend, *args, **kwargs)
        assert_gradient_equal(backend, res, exp)

    with pytest.raises(ValueError, match=r".*scalars or 1d"):
        xd.gradient(backend.asarray(f_2d), np.stack([dx] * 2, axis=-1), 1)


def test_badargs(backend):
    f_2d = backend.asarray(np.arange(25).reshape(5, 5))
    x = np.cumsum(np.ones(5))

    # wrong sizes
    for args in [(x, np.ones(2)), (1, np.ones(2)), (np.ones(2), np.ones(2))]:
        with pytest.raises(ValueError, match="distances must match the length"):
            xd.gradient(f_2d, *args)
    # wrong number of arguments
    for args, kwargs in [
        ((x,), {}),
        ((x,), {"axis": (0, 1)}),
        ((x, x, x), {}),
        ((1, 1, 1), {}),
        ((x, x), {"axis": 1}),
        ((1, 1), {"axis": 1}),
    ]:
        with pytest.raises(TypeError, match="invalid number of arguments"):
            xd.gradient(f_2d, *args, **kwargs)


def test_datetime64():
    x = np.array(
        [
            "1910-08-16",
            "1910-08-11",
            "1910-08-10",
            "1910-08-12",
            "1910-10-12",
            "1910-12-12",
            "1912-12-12",
        ],
        dtype="datetime64[D]",
    )
    dx = np.array([-5, -3, 0, 31, 61, 396, 731], dtype="timedelta64[D]")
    np.testing.assert_array_equal(xd.gradient(x), dx)
    assert xd.gradient(x).dtype == np.dtype("timedelta64[D]")


def test_masked():
    x = np.ma.array([[1, 1], [3, 4]], mask=[[False, False], [False, False]])
    out = xd.gradient(x)[0]
    assert type(out) is type(x)
    # the output and input masks are not aliased
    assert x._mask is not out._mask
    # edge_order=2 does not alter the original mask
    x2 = np.ma.arange(5)
    x2[2] = np.ma.masked
    xd.gradient(x2, edge_order=2)
    np.testing.assert_array_equal(x2.mask, [False, False, True, False, False])


def test_second_order_accurate(backend):
    x = np.linspace(0, 1, 10)
    dx = x[1] - x[0]
    y = 2 * x**3 + 4 * x**2 + 2 * x
    analytical = 6 * x**2 + 8 * x + 2
    res = backend.check(
        xd.gradient(backend.asarray(y), dx, edge_order=2), dtype=np.float64, shape=y.shape
    )
    assert np.all(np.abs(res / analytical - 1) < 0.03)

    rng = np.random.default_rng(0)
    x = np.sort(rng.random(10))
    y = 2 * x**3 + 4 * x**2 + 2 * x
    analytical = 6 * x**2 + 8 * x + 2
    res = backend.check(
        xd.gradient(backend.asarray(y), backend.asarray(x), edge_order=2),
        dtype=np.float64,
        shape=y.shape,
    )
    assert np.all(np.abs(res / analytical - 1) < 0.03)


def test_spacing(backend):
    f = np.array([0, 2.0, 3.0, 4.0, 5.0, 5.0])
    f = np.tile(f, (6, 1)) + f.reshape(-1, 1)
    x_uneven = np.array([0.0, 0.5, 1.0, 3.0, 5.0, 7.0])
    x_even = np.arange(6.0)
    fb = backend.asarray(f)
    xu, xe = backend.asarray(x_uneven), backend.asarray(x_even)

    fdx_even_ord1 = np.tile([2.0, 1.5, 1.0, 1.0, 0.5, 0.0], (6, 1))
    fdx_even_ord2 = np.tile([2.5, 1.5, 1.0, 1.0, 0.5, -0.5], (6, 1))
    fdx_uneven_ord1 = np.tile([4.0, 3.0, 1.7, 0.5, 0.25, 0.0], (6, 1))
    fdx_uneven_ord2 = np.tile([5.0, 3.0, 1.7, 0.5, 0.25, -0.25], (6, 1))

    def vals(r):
        if isinstance(r, tuple):
            return [backend.check(a, dtype=np.float64, shape=f.shape) for a in r]
        return backend.check(r, dtype=np.float64, shape=f.shape)

    for edge_order, exp_res in [(1, fdx_even_ord1), (2, fdx_even_ord2)]:
        res1 = vals(xd.gradient(fb, 1.0, axis=(0, 1), edge_order=edge_order))
        res2 = vals(xd.gradient(fb, xe, xe, axis=(0, 1), edge_order=edge_order))
        res3 = vals(xd.gradient(fb, xe, xe, axis=None, edge_order=edge_order))
        np.testing.assert_array_equal(res1, res2)
        np.testing.assert_array_equal(res2, res3)
        np.testing.assert_almost_equal(res1[0], exp_res.T)
        np.testing.assert_almost_equal(res1[1], exp_res)

        res1 = vals(xd.gradient(fb, 1.0, axis=0, edge_order=edge_order))
        res2 = vals(xd.gradient(fb, xe, axis=0, edge_order=edge_order))
        np.testing.assert_almost_equal(res2, exp_res.T)

        res1 = vals(xd.gradient(fb, 1.0, axis=1, edge_order=edge_order))
        res2 = vals(xd.gradient(fb, xe, axis=1, edge_order=edge_order))
        np.testing.assert_array_equal(res2, exp_res)

    for edge_order, exp_res in [(1, fdx_uneven_ord1), (2, fdx_uneven_ord2)]:
        res1 = vals(xd.gradient(fb, xu, xu, axis=(0, 1), edge_order=edge_order))
        res2 = vals(xd.gradient(fb, xu, xu, axis=None, edge_order=edge_order))
        np.testing.assert_array_equal(res1, res2)
        np.testing.assert_almost_equal(res1[0], exp_res.T)
        np.testing.assert_almost_equal(res1[1], exp_res)
        np.testing.assert_almost_equal(
            vals(xd.gradient(fb, xu, axis=0, edge_order=edge_order)), exp_res.T
        )
        np.testing.assert_almost_equal(
            vals(xd.gradient(fb, xu, axis=1, edge_order=edge_order)), exp_res
        )

    for edge_order, even, uneven in [
        (1, fdx_even_ord1, fdx_uneven_ord1),
        (2, fdx_even_ord2, fdx_uneven_ord2),
    ]:
        res1 = vals(xd.gradient(fb, xe, xu, axis=(0, 1), edge_order=edge_order))
        res2 = vals(xd.gradient(fb, xu, xe, axis=(1, 0), edge_order=edge_order))
        np.testing.assert_array_equal(res1[0], res2[1])
        np.testing.assert_array_equal(res1[1], res2[0])
        np.testing.assert_almost_equal(res1[0], even.T)
        np.testing.assert_almost_equal(res1[1], uneven)


def test_specific_axes(backend):
    x = backend.asarray(np.array([[1, 1], [3, 4]]))
    dx = [np.array([[2.0, 3.0], [2.0, 3.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])]
    assert_gradient_equal(backend, xd.gradient(x, axis=0), dx[0])
    assert_gradient_equal(backend, xd.gradient(x, axis=1), dx[1])
    assert_gradient_equal(backend, xd.gradient(x, axis=-1), dx[1])
    assert_gradient_equal(backend, xd.gradient(x, axis=(1, 0)), (dx[1], dx[0]))
    assert_gradient_equal(backend, xd.gradient(x, axis=None), (dx[0], dx[1]))
    assert_gradient_equal(backend, xd.gradient(x, 2, 3, axis=(1, 0)), (dx[1] / 2.0, dx[0] / 3.0))
    with pytest.raises(TypeError, match="invalid number of arguments"):
        xd.gradient(x, 1, 2, axis=1)
    with pytest.raises(AxisError, match="axis 3 is out of bounds for array of dimension 2"):
        xd.gradient(x, axis=3)
    with pytest.raises(AxisError, match="axis -3 is out of bounds for array of dimension 2"):
        xd.gradient(x, axis=-3)


def test_timedelta64():
    x = np.array([-5, -3, 10, 12, 61, 321, 300], dtype="timedelta64[D]")
    dx = np.array([2, 7, 7, 25, 154, 119, -21], dtype="timedelta64[D]")
    np.testing.assert_array_equal(xd.gradient(x), dx)
    assert xd.gradient(x).dtype == np.dtype("timedelta64[D]")


@pytest.mark.parametrize("dt", [np.float16, np.float32, np.float64])
def test_inexact_dtypes(backend, dt):
    if not backend.supports(dt):
        pytest.skip(f"{backend.name} has no {np.dtype(dt).name}")
    x = np.array([1, 2, 3], dtype=dt)
    res = xd.gradient(backend.asarray(x))
    assert res.dtype == backend.dtype(np.diff(x).dtype)


def test_values(backend):
    xd.gradient(backend.asarray(np.arange(2)), edge_order=1)
    xd.gradient(backend.asarray(np.arange(3)), edge_order=2)
    for n, edge_order in [(0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]:
        with pytest.raises(ValueError, match=r"at least \(edge_order \+ 1\) elements"):
            xd.gradient(backend.asarray(np.arange(n)), edge_order=edge_order)


@pytest.mark.parametrize("f_dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_f_decreasing_unsigned_int(backend, f_dtype):
    if not backend.supports(f_dtype):
        pytest.skip(f"{backend.name} has no {np.dtype(f_dtype).name}")
    f = np.array([5, 4, 3, 2, 1], dtype=f_dtype)
    res = backend.check(xd.gradient(backend.asarray(f)), dtype=np.float64, shape=(5,))
    np.testing.assert_array_equal(res, [-1] * len(f))


@pytest.mark.parametrize("f_dtype", [np.int8, np.int16, np.int32, np.int64])
def test_f_signed_int_big_jump(backend, f_dtype):
    maxint = np.iinfo(f_dtype).max
    x = np.array([1, 3])
    f = np.array([-1, maxint], dtype=f_dtype)
    res = backend.check(xd.gradient(backend.asarray(f), x), dtype=np.float64, shape=(2,))
    np.testing.assert_array_equal(res, [(maxint + 1) // 2] * 2)


@pytest.mark.parametrize("x_dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_x_decreasing_unsigned(backend, x_dtype):
    if not backend.supports(x_dtype):
        pytest.skip(f"{backend.name} has no {np.dtype(x_dtype).name}")
    x = np.array([3, 2, 1], dtype=x_dtype)
    f = np.array([0, 2, 4])
    for coords in (x, backend.asarray(x)):
        res = backend.check(xd.gradient(backend.asarray(f), coords), dtype=np.float64, shape=(3,))
        np.testing.assert_array_equal(res, [-2] * len(x))


@pytest.mark.parametrize("x_dtype", [np.int8, np.int16, np.int32, np.int64])
def test_x_signed_int_big_jump(backend, x_dtype):
    minint = np.iinfo(x_dtype).min
    maxint = np.iinfo(x_dtype).max
    x = np.array([-1, maxint], dtype=x_dtype)
    f = np.array([minint // 2, 0])
    for coords in (x, backend.asarray(x)):
        res = backend.check(xd.gradient(backend.asarray(f), coords), dtype=np.float64, shape=(2,))
        np.testing.assert_array_equal(res, [0.5, 0.5])


def test_return_type(backend):
    res = xd.gradient(backend.asarray(np.array([[1, 2], [2, 3]])))
    assert type(res) is tuple
    assert type(xd.gradient(([1, 2], [2, 3]))) is tuple
