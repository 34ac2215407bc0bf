"""The fused CUDA executor on a GPU: xd.gradient on CuPy is numpy.gradient to the bit.

``executors.cupy`` compiles the kernel that ``executors.cuda_source`` writes
(tests/test_cuda_kernel.py checks the same source on the CPU). Here it runs
on the device: every result is compared bit for bit with xpdiff's NumPy
result (numpy.gradient's own where parity holds), for every dtype, layout,
spacing and option; one kernel launch per call; results on the input's
device; no synchronisation with host spacings; Dask-of-CuPy chunks with
their halos; the error classes of the CPU suite.
"""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import xpdiff as xd
from xpdiff._array.executors import cupy as cupy_executor

DTYPES = ["float16", "float32", "float64", "complex64", "complex128", "int64"]


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * 3
    values[rng.random(shape) < 0.1] = 0.0
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    if np.dtype(dtype).kind == "i":
        return np.round(values * 10).astype(dtype)
    return values.astype(dtype)


def _same_bits(cp, got, want):
    """``got`` (CuPy) equals ``want`` (NumPy) to the bit; NaNs only where NaNs are."""
    assert isinstance(got, cp.ndarray), type(got)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    host = np.ascontiguousarray(cp.asnumpy(got))
    want = np.ascontiguousarray(want)
    real = host.dtype.kind == "c"
    a = host.view(host.real.dtype) if real else host
    b = want.view(want.real.dtype) if real else want
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert np.array_equal(nan_a, nan_b)
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    assert np.all((a.view(unsigned) == b.view(unsigned)) | nan_a)


def _both(cp, f, *args, **kwargs):
    """xd.gradient of ``f`` on the GPU and on the host, as lists of arrays."""
    with np.errstate(all="ignore"):
        host = xd.gradient(f, *args, **kwargs)
    device = xd.gradient(cp.asarray(f), *args, **kwargs)
    host = list(host) if isinstance(host, tuple) else [host]
    device = list(device) if isinstance(device, tuple) else [device]
    return device, host


@pytest.fixture
def launches(cp, monkeypatch):
    """The kernel launches of the CuPy executor, counted."""
    count = []
    original = cupy_executor.launch

    def counting(*args, **kwargs):
        count.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(cupy_executor, "launch", counting)
    return count


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("shape", [(7,), (5, 6), (3, 4, 5), (3, 2, 4, 5)])
def test_numpy_gradient_to_the_bit(cp, launches, dtype, edge_order, shape):
    shape = tuple(max(3, n) for n in shape)
    f = _data(shape, dtype, sum(shape))
    coords = [np.cumsum(np.random.default_rng(n).uniform(0.5, 2.0, n)) for n in shape]
    for args in [(), (0.5,), tuple(coords), (np.float32(0.25),)]:
        with np.errstate(all="ignore"):
            want = np.gradient(f, *args, edge_order=edge_order)
        got = xd.gradient(cp.asarray(f), *args, edge_order=edge_order)
        want = list(want) if isinstance(want, (tuple, list)) else [want]
        got = list(got) if isinstance(got, tuple) else [got]
        for g, w in zip(got, want, strict=True):
            _same_bits(cp, g, w)
    assert len(launches) == 4  # one kernel per call, all axes in it


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64"])
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0.1,), {"accuracy": 4}),
        ((0.1,), {"accuracy": 4, "periodic": True}),
        ((), {"n": 2, "accuracy": 6}),
        ((), {"n": 3, "periodic": True}),
        ("coordinates", {"accuracy": 4}),
        ("coordinates", {"n": 2, "accuracy": 4, "periodic": True}),
    ],
)
def test_high_order_equals_the_host_to_the_bit(cp, launches, dtype, args, kwargs):
    f = _data((33, 28), dtype, 3)
    if args == "coordinates":  # periodic: N + 1 coordinates, the last closing the period
        closed = 1 if kwargs.get("periodic") else 0
        args = tuple(
            np.cumsum(np.random.default_rng(n).uniform(0.5, 1.5, n + closed)) for n in f.shape
        )
    got, want = _both(cp, f, *args, **kwargs)
    for g, w in zip(got, want, strict=True):
        _same_bits(cp, g, w)
    assert len(launches) == 1


@pytest.mark.parametrize("layout", ["fortran", "reversed", "strided", "transposed"])
def test_any_layout(cp, layout):
    base = _data((20, 18, 16), "float64", 4)
    views = {
        "fortran": lambda a: a.T.copy().T,
        "reversed": lambda a: a[::-1, :, ::-1],
        "strided": lambda a: a[::2, 1::3, :],
        "transposed": lambda a: a.transpose(2, 0, 1),
    }
    f, fg = views[layout](base), views[layout](cp.asarray(base))
    for kwargs in ({}, {"edge_order": 2}, {"accuracy": 4, "periodic": True}):
        want = xd.gradient(f, 0.5, **kwargs)
        got = xd.gradient(fg, 0.5, **kwargs)
        for g, w in zip(got, want, strict=True):
            _same_bits(cp, g, w)


def test_coordinates_on_the_device(cp):
    f = _data((40, 30), "float64", 5)
    x = np.cumsum(np.random.default_rng(1).uniform(0.5, 1.5, 40))
    for kwargs in ({}, {"edge_order": 2}):  # numpy.gradient's weights: one CuPy op each
        want = xd.gradient(f, x, axis=0, **kwargs)
        got = xd.gradient(cp.asarray(f), cp.asarray(x), axis=0, **kwargs)
        _same_bits(cp, got, want)
    # Fornberg's weights computed on the device from device coordinates: CuPy's rounding
    got = xd.gradient(cp.asarray(f), cp.asarray(x), axis=0, accuracy=4)
    want = xd.gradient(f, x, axis=0, accuracy=4)
    np.testing.assert_allclose(cp.asnumpy(got), want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_no_synchronisation_with_host_spacings(cp, no_sync):
    f = cp.asarray(_data((64, 48), "float32", 6))
    x = np.cumsum(np.random.default_rng(1).random(48))
    xd.gradient(f, 0.5, x, accuracy=4)  # compile outside the guard
    xd.gradient(f, 0.5, x, edge_order=2)
    with no_sync():
        g = xd.gradient(f, 0.5, x, accuracy=4)
        h = xd.gradient(f, 0.5, x, edge_order=2)
    for got, want in zip(
        [*g, *h],
        [
            *xd.gradient(cp.asnumpy(f), 0.5, x, accuracy=4),
            *np.gradient(cp.asnumpy(f), 0.5, x, edge_order=2),
        ],
        strict=True,
    ):
        _same_bits(cp, got, want)


def test_result_on_the_input_device(cp):
    count = cp.cuda.runtime.getDeviceCount()
    device_id = 1 if count > 1 else 0
    with cp.cuda.Device(device_id):
        fg = cp.asarray(_data((30, 20), "float32", 7))
    for g in xd.gradient(fg, 0.5, accuracy=4):
        assert g.device == fg.device
        assert array_api_compat.device(g) == array_api_compat.device(fg)


def test_errors_as_on_the_cpu(cp):
    fg = cp.zeros((3, 4))
    with pytest.raises(ValueError, match="Shape of array too small"):
        xd.gradient(cp.zeros((1, 4)))
    with pytest.raises(ValueError, match="needs at least"):
        xd.gradient(fg, accuracy=8)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="cannot mix array libraries"):
        xd.gradient(fg, torch.arange(3.0), 1.0)
    with pytest.raises(TypeError, match="numeric data"):
        xd.gradient(cp.zeros((3, 4), dtype=bool))


def test_empty_and_zero_size(cp):
    got = xd.gradient(cp.zeros((0, 4)), axis=1)
    assert got.shape == (0, 4)
    assert isinstance(got, cp.ndarray)


def test_dask_of_cupy_chunks(cp):
    da = pytest.importorskip("dask.array")
    f = _data((45, 38), "float64", 8)
    x = da.from_array(cp.asarray(f), chunks=(10, 9), asarray=False)
    for kwargs in ({}, {"accuracy": 4, "periodic": True}, {"n": 2, "accuracy": 4}):
        want = xd.gradient(f, 0.5, **kwargs)
        got = xd.gradient(x, 0.5, **kwargs)
        for g, w in zip(got, want, strict=True):
            _same_bits(cp, g.compute(), w)


def test_compiled_once_per_source(cp):
    f = cp.asarray(_data((50, 40), "float32", 9))
    xd.gradient(f)
    before = cupy_executor.compiled.cache_info()
    xd.gradient(f * 2)
    after = cupy_executor.compiled.cache_info()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses


def test_function_mode_does_not_synchronise(cp, no_sync):
    x = cp.asarray(np.linspace(0.2, 1.4, 6))

    def func(p):
        return cp.sum(cp.sin(p) * p, axis=0)

    xd.grad(func, x)  # warm-up: CuPy's own kernels compile outside the guard
    xd.hessian(func, x)
    with no_sync():
        g = xd.grad(func, x)
        H = xd.hessian(func, x)
        J = xd.jacobian(lambda p: cp.stack([p[0] * p[1], cp.sin(p[2])]), x)
    host = cp.asnumpy(x)
    np.testing.assert_allclose(cp.asnumpy(g), np.sin(host) + host * np.cos(host), rtol=1e-9)
    assert H.shape == (6, 6)
    assert J.shape == (2, 6)
