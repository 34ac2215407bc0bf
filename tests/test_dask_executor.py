"""The Dask executor of array mode: one task per chunk, halos, every gradient feature.

Every result is compared, to the bit, with xpdiff's NumPy result on the same
data (which test_gradient and test_high_order compare with numpy.gradient
and with exact derivatives), over chunkings that put chunk boundaries in the
interior, next to the edges, and chunks smaller than the halo.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import dask_must_not_compute

import xpdiff as xd

da = pytest.importorskip("dask.array")

RNG = np.random.default_rng(16)
DATA = RNG.random((37, 23))
X = np.cumsum(RNG.random(37) + 0.1)
Y = np.cumsum(RNG.random(23) + 0.1)

CHUNKINGS = [(10, 10), (5, 4), (1, 1), ((2, 30, 5), (20, 1, 2)), (37, 7)]
OPTIONS = [
    {},
    {"edge_order": 2},
    {"accuracy": 4},
    {"accuracy": 8},
    {"n": 2},
    {"n": 3, "accuracy": 4},
    {"periodic": True},
    {"periodic": True, "accuracy": 6, "n": 2},
    {"periodic": [True, False], "accuracy": 4},
]
SPACINGS = [(), (0.5,), (X, Y), (0.25, Y), (np.float32(0.5),)]


def _compare(data, chunks, spacing, options):
    f = da.from_array(data, chunks=chunks)
    expected = xd.gradient(data, *spacing, **options)
    got = xd.gradient(f, *spacing, **options)
    for g, e in zip(got, expected, strict=True):
        assert isinstance(g, da.Array)
        assert g.chunks == f.chunks, "the output keeps the input's chunks"
        assert g.dtype == e.dtype
        values = g.compute()
        assert type(values) is np.ndarray
        np.testing.assert_array_equal(values, e)


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("spacing", SPACINGS, ids=["unit", "h", "coords", "mixed", "typed"])
def test_bitwise_equal_to_numpy(chunks, options, spacing):
    periodic = options.get("periodic", False)
    wraps = periodic if isinstance(periodic, list) else [periodic] * 2
    # a periodic axis with non-uniform coordinates takes one closing coordinate more
    spacing = tuple(
        np.append(s, s[-1] + 0.5) if wrap and np.ndim(s) == 1 else s
        for s, wrap in zip(spacing, wraps, strict=False)
    )
    _compare(DATA, chunks, spacing, options)


@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128, np.int32]
)
@pytest.mark.parametrize("options", [{}, {"edge_order": 2}, {"accuracy": 4, "n": 2}])
def test_dtypes(dtype, options):
    data = (DATA * 100).astype(dtype)
    if np.dtype(dtype).kind == "c":
        data = data + 1j * (DATA[::-1] * 3).astype(dtype)
    _compare(data, (6, 5), (X, 0.5), options)


def test_three_dimensions_and_axis():
    data = RNG.random((9, 8, 7))
    z = np.cumsum(RNG.random(7) + 0.2)
    f = da.from_array(data, chunks=(4, 3, 2))
    for axis in (0, 1, 2, (0, 2), -1):
        for options in ({}, {"accuracy": 6}, {"periodic": True, "accuracy": 4}):
            closed = np.append(z, z[-1] + 0.5)  # periodic non-uniform: a closing coordinate
            spacing = ((closed if options.get("periodic") else z),) if axis in (2, -1) else ()
            got = xd.gradient(f, *spacing, axis=axis, **options)
            expected = xd.gradient(data, *spacing, axis=axis, **options)
            got, expected = np.atleast_1d(got), np.atleast_1d(expected)  # one axis: one array
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_array_equal(np.asarray(g), e)


def test_dask_coordinates_are_computed_once_on_the_host():
    f = da.from_array(DATA, chunks=(10, 10))
    coords = da.from_array(X, chunks=10)
    got = xd.gradient(f, coords, da.from_array(np.float64(0.5)), accuracy=4)
    expected = xd.gradient(DATA, X, 0.5, accuracy=4)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g.compute(), e)


def test_nothing_is_computed_before_the_user_asks():
    f = da.from_array(DATA, chunks=(10, 10))
    with dask_must_not_compute():
        results = [
            xd.gradient(f, X, Y, accuracy=6, n=2),
            xd.gradient(f, 0.5, Y, periodic=[True, False]),
            xd.gradient(f.astype(np.int64), edge_order=2),
        ]
    assert all(isinstance(r, da.Array) for result in results for r in result)


def _keys(result):
    keys = set()
    for r in result if isinstance(result, tuple) else (result,):
        keys |= set(dict(r.__dask_graph__()))
    return keys


def test_one_task_per_output_chunk_and_no_more_than_dask_gradient():
    f = da.from_array(RNG.random((64, 48)), chunks=(16, 16)).persist()
    for options in ({}, {"edge_order": 2}, {"accuracy": 4}, {"accuracy": 8, "n": 2}):
        result = xd.gradient(f, **options)
        keys = _keys(result)
        computing = [
            k for k in keys if isinstance(k, tuple) and k[0].startswith("xpdiff-gradient")
        ]
        assert len(computing) == 2 * f.npartitions, "one task per output chunk per axis"
        assert len(keys) <= len(
            _keys(tuple(da.gradient(f, **({"edge_order": 2} if options else {}))))
        )


def _plans(monkeypatch, f, *spacing, **options):
    """The axis plans that ``xd.gradient(f, ...)`` hands the Dask executor."""
    from xpdiff._array.executors import dask as _dask

    plans = []
    original = _dask.apply

    def capture(backend, data, plan, *args, **kwargs):
        plans.append(plan)
        return original(backend, data, plan, *args, **kwargs)

    monkeypatch.setattr(_dask, "apply", capture)
    xd.gradient(f, *spacing, **options)
    monkeypatch.undo()
    return plans


def test_halo_reads_only_the_rows_it_needs(monkeypatch):
    """A chunk's task reads its own chunk and a halo as deep as its rows' stencils."""
    from xpdiff._array.executors import dask as _dask

    f = da.from_array(DATA, chunks=(10, 23))
    bounds = [0, 10, 20, 30, 37]
    # (options, halo of an interior chunk on each side, rows the first chunk reads)
    for options, depth, first in (
        ({}, 1, 11),
        ({"edge_order": 2}, 1, 11),
        ({"accuracy": 4}, 2, 12),
        ({"accuracy": 8}, 4, 14),
        ({"periodic": True, "accuracy": 4}, 2, 14),
    ):
        (plan,) = _plans(monkeypatch, f, axis=0, **options)
        _, pieces = _dask._block_spec(plan, bounds, 1)
        assert [(c, r0, r1) for c, r0, r1, _ in pieces] == [
            (0, 10 - depth, 10),
            (1, 0, 10),
            (2, 0, depth),
        ]
        _, pieces = _dask._block_spec(plan, bounds, 0)
        assert sum(r1 - r0 for _, r0, r1, _ in pieces) == first


def test_non_numpy_chunks_use_their_own_library(monkeypatch):
    """A chunk of another library (CuPy on a GPU; PyTorch here) gets weights on its device.

    Dask cannot hold PyTorch chunks (it needs NumPy's dtypes and ``astype``),
    so the chunk's task is called here as a worker would call it, on PyTorch
    pieces, with a plan that went through pickle.
    """
    torch = pytest.importorskip("torch")
    from xpdiff._array.executors import dask as _dask

    f = da.from_array(DATA, chunks=(10, 23))
    bounds = [0, 10, 20, 30, 37]
    for spacing, options in (((X, 1.0), {"accuracy": 4}), ((X, 1.0), {}), ((0.5,), {"n": 2})):
        (plan, *_) = _plans(monkeypatch, f, *spacing, **options)
        expected = xd.gradient(DATA, *spacing, **options)[0]
        for b in range(4):
            local, pieces = _dask._block_spec(plan, bounds, b)
            tensors = [
                torch.asarray(DATA[bounds[chunk] + r0 : bounds[chunk] + r1])
                for chunk, r0, r1, _ in pieces
            ]
            out = _dask._chunk(pickle.loads(pickle.dumps(local)), np.dtype(np.float64), *tensors)
            assert isinstance(out, torch.Tensor)
            assert out.dtype == torch.float64
            np.testing.assert_allclose(
                out.numpy(), expected[bounds[b] : bounds[b + 1]], rtol=1e-13, atol=1e-12
            )


def test_local_cluster_processes():
    """Plans and their lazy weights travel to worker processes of a real LocalCluster."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        f = da.from_array(DATA, chunks=(8, 6))
        closed_y = np.append(Y, Y[-1] + 0.5)  # periodic non-uniform: a closing coordinate
        for spacing, options in (((X, Y), {"accuracy": 4}), ((0.5, closed_y), {"periodic": True})):
            got = client.compute(list(xd.gradient(f, *spacing, **options)), sync=True)
            for g, e in zip(got, xd.gradient(DATA, *spacing, **options), strict=True):
                np.testing.assert_array_equal(g, e)


def test_unknown_chunk_sizes_are_a_value_error_that_says_what_to_do():
    """Boolean indexing leaves chunks of unknown size: a ValueError at call time naming
    compute_chunk_sizes() (it was an IndexError inside a task, or a TypeError)."""
    v = da.from_array(np.arange(10.0) ** 2, chunks=3)
    w = v[v > -1]
    for kwargs in ({}, {"periodic": True}, {"n": 2, "accuracy": 4}):
        with pytest.raises(ValueError, match=r"unknown size along axis 0.*compute_chunk_sizes"):
            xd.gradient(w, **kwargs)
    m = da.from_array(np.arange(20.0).reshape(4, 5), chunks=2)
    rows = m[m[:, 0] > -1]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        xd.gradient(rows)
    # the other axis has known chunks: its gradient is computed
    expected = np.gradient(np.arange(20.0).reshape(4, 5), axis=1)
    np.testing.assert_array_equal(xd.gradient(rows, axis=1).compute(), expected)
    w.compute_chunk_sizes()
    np.testing.assert_array_equal(xd.gradient(w).compute(), np.gradient(np.arange(10.0) ** 2))


def test_empty_chunks_after_boolean_indexing():
    """x[x > 0].compute_chunk_sizes() can leave a chunk of size 0, which the executor's
    tasks indexed (an IndexError inside a task); the gradient is numpy.gradient's."""
    data = np.array([-1.0, -2.0, 0.5, 1.0, 1.6, 2.0, 2.5])
    v = da.from_array(data, chunks=2)
    w = v[v > 0]
    w.compute_chunk_sizes()
    assert w.chunks == ((0, 2, 2, 1),)
    kept = data[data > 0]
    coordinates = da.from_array(np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 5.0, 7.0]), chunks=3)
    coordinates = coordinates[coordinates > 0]
    coordinates.compute_chunk_sizes()
    assert 0 in coordinates.chunks[0]
    cases = [
        ((), {}, np.gradient(kept)),
        ((), {"edge_order": 2}, np.gradient(kept, edge_order=2)),
        ((coordinates,), {}, np.gradient(kept, np.array([1.0, 2.0, 3.0, 5.0, 7.0]))),
        ((), {"periodic": True, "accuracy": 4}, xd.gradient(kept, periodic=True, accuracy=4)),
        ((), {"n": 2}, xd.gradient(kept, n=2)),
    ]
    for spacing, options, expected in cases:
        got = xd.gradient(w, *spacing, **options)
        assert isinstance(got, da.Array)
        assert 0 not in got.chunks[0]
        np.testing.assert_allclose(got.compute(), expected, rtol=1e-14, atol=1e-15)
