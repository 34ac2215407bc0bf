"""The compiled NumPy programs (numpy.gradient's own call, cached per signature).

Each case is compared to the bit with numpy.gradient, and with the general
path of plans and executors (``periodic=np.False_`` is a NumPy bool, which
the compiled path leaves to the general one), at sizes that fit one block
and sizes that span many.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpdiff as xd
from xpdiff._array import executors
from xpdiff._array.executors import compiled

RNG = np.random.default_rng(7)

#: one block, several blocks of coordinates (compiled.BLOCK_ELEMENTS) and several of a
#: uniform axis (compiled.UNIFORM_BLOCK_ELEMENTS), along every axis
SHAPES = [
    (10,),
    (3,),
    (200_001,),
    (600_001,),
    (7, 5),
    (300, 301),
    (700, 1000),
    (5, 4, 3),
    (3, 40_000),
]


def _same(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    assert type(a) is np.ndarray
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b, strict=True)


def _check(f, *varargs, **kwargs):
    expected = np.gradient(f, *varargs, **kwargs)
    got = xd.gradient(f, *varargs, **kwargs)
    _same(got, expected)
    _same(got, xd.gradient(f, *varargs, periodic=np.False_, **kwargs))  # the plans' path


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("edge_order", [None, 1, 2])
def test_unit_and_scalar_spacing_match_numpy_to_the_bit(shape, edge_order):
    f = RNG.standard_normal(shape)
    kwargs = {} if edge_order is None else {"edge_order": edge_order}
    _check(f, **kwargs)
    _check(f, 0.1, **kwargs)
    _check(f, 0.25, **kwargs)
    _check(f, 3, **kwargs)
    _check(f, *[0.5 + k for k in range(f.ndim)], **kwargs)
    _check(f, axis=-1, **kwargs)
    assert executors.compiled_program(f, (), None, edge_order, 1, None, False) is not None


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_coordinates_match_numpy_to_the_bit(shape, edge_order):
    f = RNG.standard_normal(shape)
    for axis in range(f.ndim):
        x = np.cumsum(RNG.uniform(0.5, 1.5, shape[axis]))
        _check(f, x, axis=axis, edge_order=edge_order)
        _check(f, np.arange(shape[axis]) * 0.3, axis=axis, edge_order=edge_order)  # uniform
        _check(f, np.arange(shape[axis]) * 2, axis=axis, edge_order=edge_order)  # integers
        _check(f, x.astype(np.float32), axis=axis, edge_order=edge_order)
    coords = [np.cumsum(RNG.uniform(0.5, 1.5, n)) for n in shape]
    _check(f, *coords, edge_order=edge_order)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.complex64, np.complex128, np.int32])
def test_dtypes_match_numpy_to_the_bit(dtype):
    f = (RNG.standard_normal((40, 30)) * 100).astype(dtype)
    if np.dtype(dtype).kind == "c":
        f = f + 1j * RNG.standard_normal((40, 30)).astype(dtype)
    _check(f)
    _check(f, 0.1, edge_order=2)
    x = np.cumsum(RNG.uniform(0.5, 1.5, 40))
    _check(f, x, 0.5, edge_order=2)  # float64 coordinates: numpy's promotion, general path
    _check(f, x.astype(np.float16), axis=0)


def test_extreme_values_and_powers_of_two_spacing():
    with np.errstate(all="ignore"):
        for dtype in (np.float16, np.float32, np.float64):
            scale = np.array([5e-324, 1e-300, 1.0, 1e300, np.inf, np.nan])
            f = (RNG.standard_normal(600) * scale[RNG.integers(0, 6, 600)]).astype(dtype)
            for h in (1.0, 0.5, -4.0, 2.0**-13, 2.0**-20, 2.0**-1030, 2.0**1020, 0.1):
                _same(xd.gradient(f, h), np.gradient(f, h))
                _same(xd.gradient(f, h, edge_order=2), np.gradient(f, h, edge_order=2))


def test_coordinates_are_read_afresh_on_every_call():
    """The key holds the kind of a spacing, never its values: a changed array is new data."""
    f = RNG.standard_normal(50)
    x = np.cumsum(RNG.uniform(0.5, 1.5, 50))
    first = xd.gradient(f, x)
    x *= 3.0
    _same(xd.gradient(f, x), np.gradient(f, x))
    assert not np.array_equal(first, xd.gradient(f, x))
    x[:] = np.arange(50.0)
    _same(xd.gradient(f, x, edge_order=2), np.gradient(f, x, edge_order=2))


def test_kept_coordinates_are_compared_bit_for_bit(monkeypatch):
    """A run keeps the last coordinates' steps and weights; the next call uses them only
    for the same bits: changed values, -0.0 for 0.0, a float32 copy and a uniform grid
    all give numpy.gradient's result of their own, and the kept arrays are read-only."""
    computed = []
    central = compiled._central
    monkeypatch.setattr(compiled, "_central", lambda d: computed.append(d.size) or central(d))
    f = RNG.standard_normal(40)
    x = np.concatenate([[0.0], np.cumsum(RNG.uniform(0.5, 1.5, 39))])
    for edge_order in (1, 2):
        for _ in range(2):
            _same(
                xd.gradient(f, x, edge_order=edge_order), np.gradient(f, x, edge_order=edge_order)
            )
    assert len(computed) == 2  # each edge order's first call; the second calls read them
    signed = x.copy()
    signed[0] = -0.0  # equal values, other bits: computed anew
    _same(xd.gradient(f, signed), np.gradient(f, signed))
    x[5] += 1e-9
    _same(xd.gradient(f, x), np.gradient(f, x))
    x32 = x.astype(np.float32)
    _same(xd.gradient(f.astype(np.float32), x32), np.gradient(f.astype(np.float32), x32))
    even = np.arange(40.0)
    _same(xd.gradient(f, even, edge_order=2), np.gradient(f, even, edge_order=2))
    _same(xd.gradient(f, x), np.gradient(f, x))
    assert len(computed) == 5
    long = np.cumsum(RNG.uniform(0.5, 1.5, compiled.KEEP_COORDINATES + 1))
    g = np.sin(long)
    square = RNG.standard_normal((300, 300))  # rows split into blocks: each reads its rows
    rows = np.cumsum(RNG.uniform(0.5, 1.5, 300))
    for _ in range(2):
        for edge_order in (1, 2):
            expected = np.gradient(square, rows, axis=0, edge_order=edge_order)
            _same(xd.gradient(square, rows, axis=0, edge_order=edge_order), expected)
    assert len(computed) == 7
    counts = [len(computed)]
    for _ in range(2):
        _same(xd.gradient(g, long), np.gradient(g, long))
        counts.append(len(computed))
    assert counts[2] - counts[1] == counts[1] - counts[0] > 0  # too long to keep: anew


def test_caller_arrays_untouched_and_read_only_input():
    f = RNG.standard_normal((20, 30))
    x = np.cumsum(RNG.uniform(0.5, 1.5, 30))
    f.flags.writeable = False
    x.flags.writeable = False
    before = f.copy(), x.copy()
    _check(f, 1.0, x)
    np.testing.assert_array_equal(f, before[0])
    np.testing.assert_array_equal(x, before[1])


def test_errors_come_before_any_work_and_match_numpy():
    f = np.ones((5, 5))
    with pytest.raises(ValueError, match="distances must match the length"):
        xd.gradient(f, np.ones(5), np.ones(2))
    with pytest.raises(TypeError, match="edge_order must be"):
        xd.gradient(f, edge_order=True)
    with pytest.raises(ValueError, match="edge_order must be"):
        xd.gradient(f, edge_order=0)
    with pytest.raises(TypeError, match="invalid number of arguments"):
        xd.gradient(f, 1.0, 2.0, 3.0)


@pytest.mark.parametrize(
    ("varargs", "kwargs"),
    [
        ((True,), {}),
        ((1j,), {}),
        ((np.float64(0.5),), {}),
        ((), {"axis": [0]}),
        ((), {"n": 2}),
        ((), {"accuracy": 2}),
        ((), {"periodic": True}),
        ((), {"edge_order": 3}),
    ],
)
def test_other_calls_take_the_general_path(varargs, kwargs):
    f = np.ones((4, 4))
    args = (kwargs.get("axis"), kwargs.get("edge_order"), kwargs.get("n", 1))
    program = executors.compiled_program(
        f, varargs, *args, kwargs.get("accuracy"), kwargs.get("periodic", False)
    )
    assert program is None


# --- large calls: blocks shared among threads ------------------------------------------


@pytest.mark.parametrize("threads", ["1", "2", "3"])
@pytest.mark.parametrize(
    "shape", [(compiled.UNIFORM_BLOCK_ELEMENTS * 4 + 3,), (1030, 1031), (9, 2**17 + 1)]
)
def test_threaded_blocks_match_numpy_to_the_bit(monkeypatch, threads, shape):
    """Threads share the blocks of a large axis (XPDIFF_NUM_THREADS sets how many):
    numpy.gradient's bits, NaN and infinity included, for every kind of spacing."""
    monkeypatch.setenv("XPDIFF_NUM_THREADS", threads)
    f = RNG.standard_normal(shape)
    f.flat[[5, 77, -9]] = [np.nan, np.inf, -np.inf]
    axis = f.ndim - 1
    coords = np.cumsum(RNG.uniform(0.5, 1.5, shape[axis]))
    for edge_order in (1, 2):
        _check(f, edge_order=edge_order)
        _check(f, *[0.3] * f.ndim, edge_order=edge_order)
        _check(f, 0.25, axis=axis, edge_order=edge_order)
        _check(f, coords, axis=axis, edge_order=edge_order)


@pytest.mark.filterwarnings("error")  # a worker outside the caller's errstate would warn
def test_threaded_blocks_keep_the_callers_errstate(monkeypatch):
    """np.errstate holds in the worker threads too: a zero spacing raises as in NumPy."""
    monkeypatch.setenv("XPDIFF_NUM_THREADS", "2")
    f = RNG.standard_normal(compiled.UNIFORM_BLOCK_ELEMENTS * 8)
    with np.errstate(divide="raise", invalid="raise"):
        with pytest.raises(FloatingPointError):
            np.gradient(f, 0.0)
        with pytest.raises(FloatingPointError):
            xd.gradient(f, 0.0)
    with np.errstate(all="ignore"):
        _same(xd.gradient(f, 0.0), np.gradient(f, 0.0))


def test_thread_count_setting(monkeypatch):
    monkeypatch.setenv("XPDIFF_NUM_THREADS", "1")
    assert compiled.threads() == 1
    monkeypatch.setenv("XPDIFF_NUM_THREADS", "5")
    assert compiled.threads() == 5
    monkeypatch.setenv("XPDIFF_NUM_THREADS", "many")  # not a number: the CPUs, at most 8
    assert 1 <= compiled.threads() <= compiled.MAX_THREADS


_FORK_SCRIPT = """
import multiprocessing, numpy as np, xpdiff as xd
from xpdiff._array.executors import compiled
f = np.random.default_rng(0).standard_normal(compiled.UNIFORM_BLOCK_ELEMENTS * 8)
expected = np.gradient(f)
assert np.array_equal(xd.gradient(f), expected)  # the parent's pool exists now
with multiprocessing.get_context("fork").Pool(1) as pool:
    got = pool.apply_async(xd.gradient, (f,)).get(timeout=60)
assert np.array_equal(got, expected)
print("forked child ok")
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_threaded_blocks_in_a_forked_child():
    """A child forked after the pool was made gets a pool of its own (the parent's
    threads are not in the child: work handed to them would never run). In a fresh
    interpreter with a time limit: this test process may hold other libraries' threads
    (JAX warns at every fork), and a regression must not hang the suite."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, XPDIFF_NUM_THREADS="2")
    done = subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "forked child ok" in done.stdout
