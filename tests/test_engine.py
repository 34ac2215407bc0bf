"""Function mode's engine: the memory budget, workers, operation counts, NumPy against generic."""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import threading

import numpy as np
import pytest
from helpers import (
    CountingFunc,
    CountingNamespace,
    dask_must_not_compute,
    picklable_sc2,
    strict_functions,
    traced_peak,
)
from reference_functions import exact_gradient, make

import xpdiff as xd
from xpdiff import _backend, _budget
from xpdiff._function import points as _points
from xpdiff._function import schemes as _schemes

METHODS = ["Richardson", "simple", "complex"]


# --- the memory budget as a setting ------------------------------------------------------


def test_memory_budget_settings():
    assert xd.get_memory_budget() == 128 * 2**20
    previous = xd.set_memory_budget(64 * 2**20)
    try:
        assert previous is None
        assert xd.get_memory_budget() == 64 * 2**20
        with xd.memory_budget(2**20):
            assert xd.get_memory_budget() == 2**20
            with xd.memory_budget(None):  # automatic inside, whatever the process default
                assert xd.get_memory_budget() == 128 * 2**20
            assert xd.get_memory_budget() == 2**20
        assert xd.get_memory_budget() == 64 * 2**20
    finally:
        assert xd.set_memory_budget(previous) == 64 * 2**20
    assert xd.get_memory_budget() == 128 * 2**20


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("1GB", TypeError, "integer number of bytes or None.*str '1GB'"),
        (1.5e9, TypeError, "integer number of bytes or None.*float"),
        (True, TypeError, "integer number of bytes"),
        (0, ValueError, "at least 1 byte, got 0"),
        (-5, ValueError, "at least 1 byte, got -5"),
    ],
)
def test_memory_budget_bad_values(value, error, match):
    with pytest.raises(error, match=match):
        xd.set_memory_budget(value)
    with pytest.raises(error, match=match), xd.memory_budget(value):
        pass
    assert xd.get_memory_budget() == 128 * 2**20


def test_memory_budget_block_is_local_to_its_thread():
    seen = []
    inside, release = threading.Event(), threading.Event()

    def other():
        with xd.memory_budget(2**20):
            inside.set()
            release.wait(10)
            seen.append(xd.get_memory_budget())

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    assert xd.get_memory_budget() == 128 * 2**20
    release.set()
    thread.join()
    assert seen == [2**20]


def test_automatic_budget_follows_free_device_memory(monkeypatch):
    """A GPU with 40 GiB free gets a 10 GiB budget; the host, and a nearly full GPU, 128 MiB."""
    x = np.ones(3)
    monkeypatch.setattr(_backend, "free_device_memory", lambda like: 40 * 2**30)
    assert xd.get_memory_budget(x) == 10 * 2**30
    monkeypatch.setattr(_backend, "free_device_memory", lambda like: 2**20)
    assert xd.get_memory_budget(x) == _budget.HOST_BUDGET
    monkeypatch.setattr(_backend, "free_device_memory", lambda like: None)
    assert xd.get_memory_budget(x) == _budget.HOST_BUDGET
    assert _backend.free_device_memory.__module__ == __name__  # the patch, not the library


def test_free_device_memory_of_host_arrays_is_unknown():
    assert _backend.free_device_memory(np.ones(3)) is None


# --- calls and memory under the budget ------------------------------------------------------


def test_grad_of_many_coordinates_is_split_under_the_budget():
    n = 1500  # 2 * 4 * n * n * 8 bytes = 144 MB of points: more than the budget
    x = np.linspace(-1.0, 1.0, n)
    func = CountingFunc(lambda p: np.sum(p, axis=0))
    g, peak = traced_peak(lambda: xd.grad(func, x))
    np.testing.assert_allclose(g, 1.0, rtol=1e-5)
    assert func.calls > 2
    budget = xd.get_memory_budget()
    # each call's points and values fit half the budget
    assert max(s[1] for s in func.shapes[1:]) * (n + 1) * 8 <= budget / 2
    # xpdiff's points, values and result, and func's sum over one call's points
    assert peak <= budget + 8 * 2**20, peak / 2**20


@pytest.mark.parametrize("max_batch", [None, 50])
def test_jacobian_with_a_large_result_stays_within_the_budget(max_batch):
    """n = 100, m = 100000: a 76 MiB result (1.6 GiB were held before the budget covered it)."""
    n, m = 100, 100_000
    rng = np.random.default_rng(4)
    A = rng.normal(size=(m, n))

    def linear(p):
        return A @ p  # (m, points): the values of one call

    x = rng.normal(size=n)
    func = CountingFunc(linear)
    J, peak = traced_peak(lambda: xd.jacobian(func, x, max_batch=max_batch))
    np.testing.assert_allclose(J, A, rtol=1e-7, atol=1e-7)
    assert J.shape == (m, n)
    budget = xd.get_memory_budget()
    assert peak <= budget, peak / 2**20
    if max_batch:
        assert max(s[1] for s in func.shapes[1:]) <= max_batch


def test_hessian_of_300_coordinates_within_the_budget():
    """genD's n**2 batch (867 MB of points with r = 4) is split to stay within the budget."""
    n = 300
    rng = np.random.default_rng(3)
    A = rng.normal(size=(n, n)) / n
    A = A + A.T

    def quadratic(x):
        # 0.5 x' A x per point, vectorized over trailing axes
        return 0.5 * np.sum(x * np.tensordot(A, x, axes=1), axis=0)

    func = CountingFunc(quadratic)
    x = rng.normal(size=n)
    H, peak = traced_peak(lambda: xd.hessian(func, x))
    np.testing.assert_allclose(H, A, atol=1e-5)
    budget = xd.get_memory_budget()
    per_call = max(s[1] for s in func.shapes[1:]) * (n + 1) * 8
    assert per_call <= budget / 2
    # xpdiff's share, and func's own two temporaries of one call's size (A x and x * A x)
    assert peak <= budget + 2 * per_call + 8 * 2**20, peak / 2**20


def test_a_smaller_budget_gives_more_calls_and_the_same_derivative():
    x = np.linspace(0.1, 2.0, 40)
    full = CountingFunc(make("sc2", np))
    g = xd.grad(full, x)
    small = CountingFunc(make("sc2", np))
    with xd.memory_budget(64 * 1024):
        g_small = xd.grad(small, x)
    assert full.calls == 2
    assert small.calls > 4
    np.testing.assert_allclose(g_small, g, rtol=1e-12, atol=1e-15)


# --- max_batch and workers never change the result -------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_max_batch_keeps_the_bits(method):
    """Units depend on the budget alone, so chunking the calls changes nothing."""
    x = np.random.default_rng(5).uniform(-1, 1, (6, 3))
    g = xd.grad(picklable_sc2, x, method)
    for max_batch in (1, 7, 25):
        np.testing.assert_array_equal(xd.grad(picklable_sc2, x, method, max_batch=max_batch), g)


def test_workers_process_pool():
    x = np.linspace(-1.0, 1.0, 7)
    g = xd.grad(picklable_sc2, x)
    g2, info = xd.grad(picklable_sc2, x, workers=2, full_output=True)
    np.testing.assert_array_equal(g2, g)
    assert info.ncalls >= 3  # x, then at least one chunk per process
    H = xd.hessian(picklable_sc2, x[:3])
    np.testing.assert_array_equal(xd.hessian(picklable_sc2, x[:3], workers=2), H)


def test_workers_process_pool_with_a_torch_x_that_requires_grad():
    """Points built from such an x are not leaves: "Cowardly refusing to serialize
    non-leaf tensor which requires_grad" before; they go to the processes detached."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    jac = xd.jacobian(torch.sin, x, workers=2)
    np.testing.assert_allclose(jac.detach().numpy(), np.diag(np.cos([0.5, 1.5])), rtol=1e-9)
    g = xd.grad(torch.sin, x, workers=2, vectorized=False)
    np.testing.assert_allclose(g.detach().numpy(), np.cos([0.5, 1.5]), rtol=1e-9)


@pytest.mark.parametrize("kind", ["threads", "processes", "multiprocessing"])
def test_workers_map_like(kind):
    x = np.linspace(0.2, 1.4, 5)
    expected = {m: xd.grad(picklable_sc2, x, m) for m in METHODS}
    if kind == "threads":
        pool = concurrent.futures.ThreadPoolExecutor(2)
    elif kind == "processes":
        pool = concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("forkserver")
        )
    else:
        pool = multiprocessing.get_context("forkserver").Pool(2)
    with pool:
        for method in METHODS:
            g = xd.grad(picklable_sc2, x, method, workers=pool.map, max_batch=7)
            np.testing.assert_array_equal(g, expected[method])
        J = xd.jacobian(picklable_sc2, x, workers=pool.map)
        np.testing.assert_array_equal(J[0], expected["Richardson"])


def test_workers_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    x = np.linspace(0.2, 1.4, 4)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        rosenbrock = make("rosenbrock", np)  # a closure: Dask pickles it by value
        counted = []

        def func(p):
            counted.append(p.shape)  # runs on the workers: this list stays empty here
            return rosenbrock(p)

        g = xd.grad(func, x, workers=executor.map)
        np.testing.assert_array_equal(g, xd.grad(rosenbrock, x))
        H = xd.hessian(func, x, workers=executor.map)
        np.testing.assert_array_equal(H, xd.hessian(rosenbrock, x))
        assert counted == [(4,), (4,)]  # only the calls at x ran in this process


def test_workers_point_by_point():
    x = np.array([0.3, -0.4, 1.2])
    seen = []

    def one_point(p):
        seen.append(p.shape)
        return float(p[0] ** 2 * p[1] + np.sin(p[2]))

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        g = xd.grad(one_point, x, vectorized=False, workers=pool.map)
    np.testing.assert_array_equal(g, xd.grad(one_point, x, vectorized=False))
    assert set(seen) == {(3,)}


def test_workers_need_a_picklable_func():
    with pytest.raises(TypeError, match=r"func cannot be sent to worker processes.*top level"):
        xd.grad(lambda p: np.sum(p, axis=0), [1.0, 2.0], workers=2)


@pytest.mark.parametrize(
    ("workers", "error", "match"),
    [
        (0, ValueError, "number of processes >= 1, or -1.*got 0"),
        (-2, ValueError, "got -2"),
        ("4", TypeError, "workers must be None, an int.*str '4'"),
        (2.0, TypeError, "workers must be None, an int.*float"),
    ],
)
def test_bad_workers(workers, error, match):
    with pytest.raises(error, match=match):
        xd.grad(picklable_sc2, [1.0, 2.0], workers=workers)


def test_user_exception_from_a_worker_propagates():
    class Boom(Exception):
        pass

    def func(p):
        if p.ndim > 1:
            raise Boom("only at the batch")
        return np.sum(p)

    with concurrent.futures.ThreadPoolExecutor(2) as pool, pytest.raises(Boom, match="batch"):
        xd.grad(func, [1.0, 2.0], workers=pool.map)


# --- a small, constant number of array operations ----------------------------------------------


#: the ceilings documented in docs/benchmarks.md ("Operations per derivative"); the check
#: that func does not mix points adds about 26 where values are not in host memory (the
#: complex step's 5 more: the copy's imaginary part against the step's signal)
FIRST_DERIVATIVE_CEILING = 64
SECOND_DERIVATIVE_CEILING = 90


@pytest.mark.parametrize("method", METHODS)
def test_operation_count_of_first_derivatives(method):
    xps = pytest.importorskip("array_api_strict")
    ns = CountingNamespace(xps)
    sc2, vector = strict_functions(xps)
    counts = set()
    for n in (3, 30):
        for shape in ((n,), (n, 4, 2)):
            for kind, func in (("grad", sc2), ("jacobian", vector), ("elementwise", xps.exp)):
                x = ns.asarray(np.linspace(0.1, 1.0, math.prod(shape)).reshape(shape))
                ns.count = 0
                derivative = xd.jacobian if kind == "jacobian" else xd.grad
                derivative(ns.function(func), x, method)
                counts.add((kind, n, ns.count))
    assert max(c for _, _, c in counts) <= FIRST_DERIVATIVE_CEILING, counts
    # independent of n
    for kind in ("grad", "jacobian", "elementwise"):
        assert len({c for k, n, c in counts if k == kind}) <= 2, counts  # batch of points or not


@pytest.mark.parametrize(
    ("function", "method"),
    [("genD", "Richardson"), ("hessian", "Richardson"), ("hessian", "complex")],
)
def test_operation_count_of_second_derivatives(function, method):
    xps = pytest.importorskip("array_api_strict")
    ns = CountingNamespace(xps)
    sc2, vector = strict_functions(xps)
    counts = []
    for n in (2, 5, 12):
        x = ns.asarray(np.linspace(0.1, 1.0, n))
        ns.count = 0
        if function == "genD":
            xd.genD(ns.function(vector), x)
        else:
            xd.hessian(ns.function(sc2), x, method)
        counts.append(ns.count)
    assert len(set(counts)) == 1, counts
    assert counts[0] <= SECOND_DERIVATIVE_CEILING, counts


# --- the engine and the point builder on NumPy equal the generic ones to the bit ----------------


@pytest.mark.parametrize(
    ("method", "sides"),
    [("Richardson", None), ("Richardson", "mixed"), ("simple", "mixed"), ("complex", None)],
)
@pytest.mark.parametrize("shape", [(1,), (4,), (5, 3), (3, 2, 2)])
def test_numpy_equals_the_generic_path(method, shape, sides):
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(abs(hash((method, shape))) % 2**32)
    x = rng.uniform(-2, 2, shape)
    x[0, ...] = 0.0  # the absolute step near zero
    side = None if sides is None else [(-1, 1, None)[i % 3] for i in range(shape[0])]
    for kind in ("grad", "jacobian", "elementwise"):
        results = []
        for lib in (np, xps):
            sc2, vector = make("sc2", lib), make("vec_m3n3" if shape[0] == 3 else "sc2", lib)
            func = {"grad": sc2, "jacobian": vector, "elementwise": lib.exp}[kind]
            derivative = xd.jacobian if kind == "jacobian" else xd.grad
            value, info = derivative(func, lib.asarray(x), method, side=side, full_output=True)
            results.append((np.asarray(value), np.asarray(info.error)))
        np.testing.assert_array_equal(results[0][0], results[1][0], strict=True)
        np.testing.assert_array_equal(results[0][1], results[1][1], strict=True)


def test_point_builders_agree_to_the_bit():
    """Every kind of rectangle, NumPy's builder against the generic ``where`` builder."""
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(9)
    n, size = 4, 3
    x = rng.normal(size=(n, size))
    x[1, 0] = -0.0  # a signed zero that must survive
    h = np.abs(rng.normal(size=(n, size))) * 1e-3
    families = [
        _schemes.richardson_scheme(n, (math.nan,) * n, 3, 2.0, False, False).family,
        _schemes.richardson_scheme(n, (1.0, -1.0, math.nan, 1.0), 2, 2.0, True, False).family,
        _schemes.complex_step_scheme(n, 2.0**-52, False).family,
        _schemes.genD_scheme(n, 2, 2.0).linear.family,
    ]
    for family in families:
        total = family.groups * family.sets
        ranges = [(0, total), (1, total - 1), (family.sets, 2 * family.sets), (2, 3)]
        for t0, t1 in ranges:
            for b0, b1 in [(0, size), (1, 3)]:
                rect = _points.Rectangle(family, t0, t1, b0, b1)
                built = []
                for lib in (np, xps):
                    xp = _backend.array_namespace(lib.asarray(x))[0]
                    x4 = xp.reshape(lib.asarray(x), (n, 1, 1, size))
                    xg = xp.reshape(lib.asarray(x), (1, n, 1, size))
                    hg = xp.reshape(lib.asarray(h), (1, n, 1, size))
                    dtype = _points.points_dtype(xp, family, x4.dtype)
                    built.append(np.asarray(_points.build(xp, [rect], (x4, xg, hg), dtype, True)))
                np.testing.assert_array_equal(built[0], built[1], strict=True)
                assert np.array_equal(np.signbit(built[0].real), np.signbit(built[1].real))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_point_builders_of_one_coordinate_agree_to_the_bit(dtype):
    """An elementwise function's rectangles (one coordinate: derivative's pilot, a diagonal
    family, and its ladder, all sets), which NumPy's builder writes in place as ``x + m h``:
    the generic builder's bits, whole or in parts."""
    from xpdiff._function.adaptive.ladders import pilot_scheme
    from xpdiff._function.derivative_schemes import ladder_scheme

    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(11)
    size = 5
    x = rng.normal(size=(1, size)).astype(dtype)
    x[0, 1] = -0.0
    h = (2.0 ** rng.integers(-12, -2, size=(1, size))).astype(dtype)
    families = [
        pilot_scheme(1, (math.nan,), False, 8.0)[0],
        ladder_scheme(3, 4, 2.0, 3).family,
        _schemes.richardson_scheme(1, (math.nan,), 3, 2.0, False, False).family,
    ]
    for family in families:
        total = family.groups * family.sets
        for t0, t1 in [(0, total), (1, total - 1), (2, 3)]:
            for b0, b1 in [(0, size), (1, 3)]:
                rect = _points.Rectangle(family, t0, t1, b0, b1)
                built = []
                for lib in (np, xps):
                    xp = _backend.array_namespace(lib.asarray(x))[0]
                    x4 = xp.reshape(lib.asarray(x), (1, 1, 1, size))
                    hg = xp.reshape(lib.asarray(h), (1, 1, 1, size))
                    points_dtype = _points.points_dtype(xp, family, x4.dtype)
                    built.append(
                        np.asarray(_points.build(xp, [rect], (x4, x4, hg), points_dtype, False))
                    )
                np.testing.assert_array_equal(built[0], built[1], strict=True)
                assert np.array_equal(np.signbit(built[0]), np.signbit(built[1]))


@pytest.mark.parametrize("work_bytes", [None, 1])
def test_one_set_at_a_time_broadcasts_like_numpy(work_bytes, monkeypatch):
    """``points._all_by_sets`` with multipliers, steps or x of one coordinate, broadcast
    to all (jvp's directions: m of one coordinate over 1e5), in one part or parts of 64:
    NumPy's ``x + m h`` to the bit (a version that sliced every array in parts lost the
    broadcast ones' rows: an error at jvp(f, x, V) within a small memory budget)."""
    if work_bytes is not None:
        monkeypatch.setattr(_points, "BY_SETS_BYTES", work_bytes)
    rng = np.random.default_rng(3)
    n, sets = 300, 5
    full = rng.normal(size=(n, 1, 1))
    one = rng.normal(size=(1, 1, 1))
    steps = 2.0 ** rng.integers(-12, -2, size=(n, 1, 1))
    for x, m, h in [
        (full, rng.normal(size=(1, sets, 1)), steps),
        (full, rng.normal(size=(n, sets, 1)), None),
        (one, rng.normal(size=(n, sets, 1)), steps),
        (full, rng.normal(size=(1, sets, 1)), steps[:1]),
    ]:
        block = np.empty((n, sets, 1))
        _points._all_by_sets(block, x, m, h)
        expected = x + (m if h is None else m * h)
        np.testing.assert_array_equal(block, np.broadcast_to(expected, block.shape))


@pytest.mark.parametrize("work_bytes", [None, 1])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_elementwise_rectangles_at_one_base_point_agree_to_the_bit(dtype, work_bytes, monkeypatch):
    """An elementwise function's rectangles over many coordinates at one base point
    (``xd.grad`` of an elementwise func: pilot and Richardson, "all" sets, fewer sets than
    coordinates), which NumPy's builder writes one set at a time into a work array of
    some coordinates (``points.BY_SETS_BYTES``; 1: 64 coordinates at a time, four parts
    here, the last short): the generic builder's bits, every set or some, signed zeros
    kept."""
    from xpdiff._function.adaptive.ladders import pilot_scheme

    if work_bytes is not None:
        monkeypatch.setattr(_points, "BY_SETS_BYTES", work_bytes)
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(12)
    n = 200
    x = rng.normal(size=(n, 1)).astype(dtype)
    x[3, 0] = -0.0
    h = (2.0 ** rng.integers(-12, -2, size=(n, 1))).astype(dtype)
    families = [
        pilot_scheme(n, (math.nan,) * n, True, 8.0)[0],
        _schemes.richardson_scheme(n, (math.nan,) * n, 4, 2.0, True, False).family,
        _schemes.richardson_scheme(n, (1.0,) * n, 3, 2.0, True, True).family,
    ]
    for family in families:
        total = family.groups * family.sets
        assert total < n
        for t0, t1 in [(0, total), (1, total - 1)]:
            rect = _points.Rectangle(family, t0, t1, 0, 1)
            assert rect.kind == "all"
            built = []
            for lib in (np, xps):
                xp = _backend.array_namespace(lib.asarray(x))[0]
                x4 = xp.reshape(lib.asarray(x), (n, 1, 1, 1))
                xg = xp.reshape(lib.asarray(x), (1, n, 1, 1))
                hg = xp.reshape(lib.asarray(h), (n, 1, 1, 1))
                points_dtype = _points.points_dtype(xp, family, x4.dtype)
                points = _points.build(xp, [rect], (x4, xg, hg), points_dtype, True)
                built.append(np.asarray(points))
            np.testing.assert_array_equal(built[0], built[1], strict=True)
            assert np.array_equal(np.signbit(built[0]), np.signbit(built[1]))


# --- laziness and tracing ------------------------------------------------------------------------


def test_dask_stays_lazy_for_every_function():
    da = pytest.importorskip("dask.array")
    x0 = np.array([0.3, -0.7, 1.1])
    x = da.from_array(x0, chunks=2)
    with dask_must_not_compute():
        J = xd.jacobian(make("vec_m3n3", da), x)
        D = xd.genD(make("vec_m3n3", da), x).D
        H = xd.hessian(make("gauss", da), x)
        Hc = xd.hessian(make("gauss", da), x, "complex")
    for lazy in (J, D, H, Hc):
        assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(J.compute(), xd.jacobian(make("vec_m3n3", np), x0), rtol=1e-12)
    np.testing.assert_allclose(D.compute(), xd.genD(make("vec_m3n3", np), x0).D, rtol=1e-9)
    np.testing.assert_allclose(H.compute(), xd.hessian(make("gauss", np), x0), rtol=1e-9)
    np.testing.assert_allclose(Hc.compute(), xd.hessian(make("gauss", np), x0, "complex"))


@pytest.mark.parametrize("method", METHODS)
def test_jax_jit(method):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    f = make("sc2", jnp)
    x = np.linspace(0.1, 1.2, 4)
    g = jax.jit(lambda p: xd.grad(f, p, method))(jnp.asarray(x))
    tol = {"Richardson": 1e-8, "simple": 1e-3, "complex": 1e-13}[method]
    np.testing.assert_allclose(np.asarray(g), exact_gradient("sc2", x), atol=tol)
    H = jax.jit(lambda p: xd.hessian(make("gauss", jnp), p))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(H), xd.hessian(make("gauss", np), x), rtol=1e-8)


def test_coordinate_family_builds_one_family_per_layout():
    """schemes.coordinate_family: per-coordinate rows, one shared row, elementwise, masked."""
    moves = np.array([[1.0, -1.0], [2.0, 0.0], [1.0, -1.0]])
    family = _schemes.coordinate_family(moves, 3, elementwise=False)
    assert family.groups == 3
    assert family.diagonal
    assert family.relative
    np.testing.assert_array_equal(family.multipliers[:, :, 0], moves)
    shared = _schemes.coordinate_family(np.array([[1.0, -1.0]] * 3), 3, elementwise=False)
    assert shared.multipliers.shape == (1, 2, 1)  # stored once
    np.testing.assert_array_equal(shared.set_multipliers(2, 6)[:, 0], [1.0, -1.0, 1.0, -1.0])
    one = _schemes.coordinate_family(np.array([[0.5, -0.5]]), 10**6, elementwise=True)
    assert one.coords is None
    assert one.groups == 1
    assert one.multipliers.shape == (1, 2, 10**6)
    assert one.multipliers.base is not None
    assert not one.multipliers.flags.writeable
    np.testing.assert_array_equal(one.set_multipliers(0, 2)[:, 7], [0.5, -0.5])
    masks = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    masked = _schemes.masked_family(_schemes.coordinate_family(moves, 3, elementwise=True), masks)
    assert masked.groups == 2
    np.testing.assert_array_equal(masked.set_multipliers(2, 3), [[0.0, 2.0, 0.0]])
    with pytest.raises(ValueError, match="elementwise family"):
        _schemes.masked_family(family, masks)
    complex_step = _schemes.coordinate_family(
        np.full((1, 1), 1e-20j), 4, elementwise=False, relative=False
    )
    assert complex_step.is_complex
    assert not complex_step.relative


def test_a_large_elementwise_scheme_is_built_with_array_operations():
    """1e6 elementwise coordinates: the weights of 3, and no per-coordinate tuple."""
    big = _schemes.richardson_scheme(10**6, (math.nan,), 4, 2.0, True, False)
    small = _schemes.richardson_scheme(3, (math.nan,) * 3, 4, 2.0, True, False)
    np.testing.assert_array_equal(big.weights, small.weights)
    assert big.family.multipliers.shape == (1, 8, 10**6)
    np.testing.assert_array_equal(
        big.family.multipliers[0, :, 0], small.family.multipliers[0, :, 0]
    )
    mixed = _schemes.richardson_scheme(3, (math.nan, 1.0, -1.0), 4, 2.0, False, True)
    assert mixed.weights.shape[0] == 3
    assert len(mixed.factors) == 3
    np.testing.assert_array_equal(mixed.weights[1], mixed.weights[2])
    assert not np.array_equal(mixed.weights[0], mixed.weights[1])


@pytest.mark.parametrize("function", ["grad", "jacobian", "hessian"])
def test_split_units_and_calls_on_every_backend(backend, function):
    """A tiny budget splits the groups and base points into units, max_batch the calls.

    The split branches of the unit slicing (per-group weights and steps, blocks of
    base points, values pending across calls) on every backend: the same numbers as
    NumPy's whole-batch result, in x's namespace, device and dtype.
    """
    rng = np.random.default_rng(11)
    x = rng.uniform(0.2, 1.2, (5, 7))
    func = {"grad": "sc2", "jacobian": "vec_m3n3", "hessian": "sc2"}[function]
    derivative = getattr(xd, function)
    if function == "jacobian":
        x = x[:3]
    shape = {"grad": x.shape, "jacobian": (3, *x.shape), "hessian": (x.shape[0], *x.shape)}
    whole = derivative(make(func, np), x)
    with xd.memory_budget(6 * 1024):
        split = derivative(make(func, backend.xp), backend.asarray(x), max_batch=9)
    values = backend.check(split, dtype=np.float64, shape=shape[function])
    np.testing.assert_allclose(values, whole, rtol=1e-9, atol=1e-9)
