"""xpdiff.gradient on CuPy arrays against numpy.gradient and cupy.gradient."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import xpdiff as xd

DTYPES = [np.int32, np.int64, np.uint8, np.float16, np.float32, np.float64, np.complex128]


def _check(cp, result, expected, device):
    """``result`` is a CuPy array on ``device`` with numpy.gradient's dtype, shape, values."""
    results = result if isinstance(result, tuple) else (result,)
    expecteds = expected if isinstance(expected, tuple) else (expected,)
    assert isinstance(result, tuple) == isinstance(expected, tuple)
    for res, exp in zip(results, expecteds, strict=True):
        assert isinstance(res, cp.ndarray), type(res)
        assert array_api_compat.device(res) == device
        assert res.dtype == exp.dtype
        assert res.shape == exp.shape
        eps = np.finfo(exp.dtype).eps
        scale = np.max(np.abs(exp), initial=0.0)
        np.testing.assert_allclose(cp.asnumpy(res), exp, rtol=4 * eps, atol=4 * eps * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("shape", [(7,), (5, 6), (3, 4, 5), (3, 2, 4, 5)])
def test_parity_uniform_and_coordinates(cp, dtype, edge_order, shape):
    if edge_order == 2 and min(shape) < 3:
        shape = tuple(max(3, n) for n in shape)  # numpy.gradient needs 3 points for edge_order=2
    rng = np.random.default_rng(sum(shape) + edge_order)
    f = rng.uniform(-50, 50, shape) * (1 if np.dtype(dtype).kind != "c" else 1 + 1j)
    f = f.astype(dtype)
    coords = [np.cumsum(rng.uniform(0.5, 2.0, n)) for n in shape]
    fg = cp.asarray(f)
    dev = array_api_compat.device(fg)
    _check(cp, xd.gradient(fg, edge_order=edge_order), np.gradient(f, edge_order=edge_order), dev)
    _check(
        cp,
        xd.gradient(fg, 0.5, edge_order=edge_order),
        np.gradient(f, 0.5, edge_order=edge_order),
        dev,
    )
    # coordinates as NumPy arrays (checked on the host) and as CuPy arrays
    expected = np.gradient(f, *coords, edge_order=edge_order)
    _check(cp, xd.gradient(fg, *coords, edge_order=edge_order), expected, dev)
    _check(
        cp, xd.gradient(fg, *[cp.asarray(c) for c in coords], edge_order=edge_order), expected, dev
    )
    # and against CuPy's own gradient
    ours = xd.gradient(fg, *[cp.asarray(c) for c in coords], edge_order=edge_order)
    theirs = cp.gradient(fg, *[cp.asarray(c) for c in coords], edge_order=edge_order)
    ours = ours if isinstance(ours, tuple) else (ours,)
    # cupy.gradient returns a list for several axes (numpy.gradient a tuple)
    theirs = tuple(theirs) if isinstance(theirs, (tuple, list)) else (theirs,)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        eps = np.finfo(a.dtype).eps
        scale = float(cp.max(cp.abs(b)))
        cp.testing.assert_allclose(a, b, rtol=4 * eps, atol=4 * eps * scale)


def test_axis_forms_and_errors(cp):
    f = np.arange(60.0).reshape(3, 4, 5) ** 2
    fg = cp.asarray(f)
    dev = array_api_compat.device(fg)
    for axis in (0, -1, (2, 0), None):
        _check(cp, xd.gradient(fg, axis=axis), np.gradient(f, axis=axis), dev)
    with pytest.raises(np.exceptions.AxisError):
        xd.gradient(fg, axis=3)
    with pytest.raises(TypeError, match="invalid number of arguments"):
        xd.gradient(fg, 1.0, 2.0)


def test_second_device_kept(cp):
    if cp.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("one GPU only")
    with cp.cuda.Device(1):
        fg = cp.asarray(np.linspace(0, 1, 9) ** 2)
    res = xd.gradient(fg, np.linspace(0, 1, 9))
    assert res.device == fg.device


def test_no_sync_with_host_coordinates(cp, no_sync):
    """Scalar spacing and NumPy coordinates need no device-to-host transfer."""
    f = cp.asarray(np.random.default_rng(0).random((64, 48)))
    x = np.cumsum(np.random.default_rng(1).random(48))
    with no_sync():
        g0, g1 = xd.gradient(f, 0.5, x, edge_order=2)
    expected = np.gradient(cp.asnumpy(f), 0.5, x, edge_order=2)
    np.testing.assert_allclose(cp.asnumpy(g1), expected[1], rtol=1e-14)
    np.testing.assert_allclose(cp.asnumpy(g0), expected[0], rtol=1e-14)
