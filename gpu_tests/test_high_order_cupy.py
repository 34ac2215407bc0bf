"""Beyond numpy.gradient on CuPy: n, accuracy, periodic axes, fd_weights, Dask-on-GPU.

Results are compared with xpdiff's NumPy results (which tests/ compares with
exact derivatives) to a few ulps of the result's scale: the GPU's arithmetic
is the same formula in the same order, but fused multiply-adds may round
differently.
"""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import xpdiff as xd

RNG = np.random.default_rng(15)
F = np.sin(np.linspace(0, 6, 41))[:, None] * np.cos(np.linspace(0, 4, 33))[None, :]
X = np.cumsum(RNG.uniform(0.5, 1.5, 41)) / 20
Y = np.cumsum(RNG.uniform(0.5, 1.5, 33)) / 20


def _close(cp, got, expected, device, dtype):
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for g, e in zip(got, expected, strict=True):
        assert isinstance(g, cp.ndarray)
        assert array_api_compat.device(g) == device
        assert g.dtype == dtype
        assert g.shape == e.shape
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(cp.asnumpy(g), e, rtol=0, atol=64 * eps * np.max(np.abs(e)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize(
    "options",
    [
        {"accuracy": 4},
        {"accuracy": 8},
        {"n": 2},
        {"n": 3, "accuracy": 4},
        {"periodic": True, "accuracy": 6},
        {"periodic": [True, False], "n": 2, "accuracy": 4},
    ],
    ids=str,
)
@pytest.mark.parametrize("where", ["host coords", "device coords", "scalar"])
def test_beyond_numpy_matches_numpy_results(cp, dtype, options, where):
    f = (F * (1 + 1j) if np.dtype(dtype).kind == "c" else F).astype(dtype)
    fg = cp.asarray(f)
    if where == "scalar":
        spacing = (0.05,)
    elif where == "host coords":
        spacing = (X, Y)
    else:
        spacing = (cp.asarray(X), cp.asarray(Y))
    periodic = options.get("periodic", False)
    periodic = [periodic] * 2 if isinstance(periodic, bool) else periodic
    if where != "scalar":  # a periodic axis's non-uniform coordinates: N + 1, closed
        closed = tuple(
            np.append(c, c[-1] + (c[1] - c[0])) if p else c
            for c, p in zip((X, Y), periodic, strict=True)
        )
        spacing = closed if where == "host coords" else tuple(cp.asarray(c) for c in closed)
    host = closed if where != "scalar" else (0.05,)
    expected = xd.gradient(f, *host, **options)
    got = xd.gradient(fg, *spacing, **options)
    _close(cp, got, expected, array_api_compat.device(fg), dtype)


def test_high_order_no_sync_with_host_coordinates(cp, no_sync):
    fg = cp.asarray(F)
    with no_sync():
        got = xd.gradient(fg, X, 0.05, accuracy=6, n=2, periodic=[False, True])
    expected = xd.gradient(F, X, 0.05, accuracy=6, n=2, periodic=[False, True])
    _close(cp, got, expected, array_api_compat.device(fg), np.float64)


def test_dask_array_of_cupy_chunks(cp):
    """A Dask array of CuPy chunks: each chunk's task runs on the GPU, with its halo."""
    da = pytest.importorskip("dask.array")
    f = da.from_array(cp.asarray(F), chunks=(10, 9), asarray=False)
    assert isinstance(f._meta, cp.ndarray)
    for spacing, options in (((), {}), ((X, Y), {"accuracy": 4}), ((0.05,), {"periodic": True})):
        result = xd.gradient(f, *spacing, **options)
        expected = xd.gradient(F, *spacing, **options)
        for r, e in zip(result, expected, strict=True):
            assert r.chunks == f.chunks
            assert isinstance(r._meta, cp.ndarray)
            values = r.compute()
            assert isinstance(values, cp.ndarray)
            np.testing.assert_allclose(
                cp.asnumpy(values), e, rtol=0, atol=64 * 2.2e-16 * np.max(np.abs(e))
            )
