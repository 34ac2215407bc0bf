"""A func that mixes the points of a batch is refused; an honest one never is (issue 21).

The last call's batch ends with an unperturbed copy of x, whose value must be
func's value at x alone, and a sentinel (x moved by (|x| + 1) / 16 on every
coordinate) that shifts any mean, sum, max or min over the batch.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import typing

import array_api_compat
import array_api_strict as xps
import numpy as np
import pytest
from helpers import CountingFunc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpdiff as xd

X = [1.0, 2.0, 3.0]

#: reductions over the whole array, without axis=0
MIXING = {
    "sum": lambda x: x[0] * np.sum(x),
    "mean": lambda x: x[0] * np.mean(x),
    "max": lambda x: x[0] * x.max(),
    "min": lambda x: x[0] * x.min(),
    "norm": lambda x: x[0] * np.linalg.norm(x),
    "dot": lambda x: x[0] * (np.ravel(x) @ np.ravel(x)),
}


@pytest.mark.parametrize("name", list(MIXING))
@pytest.mark.parametrize(
    ("method", "side"),
    [("Richardson", None), ("simple", None), ("complex", None), ("simple", -1)],
)
def test_every_reduction_is_refused(name, method, side):
    func = MIXING[name]
    if side == -1 and name == "max":
        return  # the documented limit: every point at or below x, the sentinel too
    sides = None if side is None else [side] * 3
    with pytest.raises(ValueError, match=r"mixes the points.*vectorized=False"):
        xd.grad(func, X, method, side=sides)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.jacobian(lambda x: np.stack([func(x), x[1]]), X, method, side=sides)


@pytest.mark.parametrize(
    ("method", "method_args"),
    [("Richardson", {"d": 0.01}), ("simple", {"eps": 0.01}), ("adaptive", None)],
)
def test_a_noisy_honest_func_is_not_taken_for_one_that_mixes(method, method_args):
    """A simulation whose values carry noise (1e-5 of values about 5) gave the copy of x a
    value beyond sqrt(eps) of f(x) and was refused as mixing points. func at x once more
    tells noise from mixing: the check's call counts in ncalls, not in nfev."""
    rng = np.random.default_rng(0)

    def noisy(x):
        return np.sum(x**2, axis=0) + 1e-5 * rng.standard_normal(x.shape[1:])

    res = xd.grad(noisy, [1.0, 2.0], method, method_args=method_args, full_output=True)
    assert np.allclose(res.value, [2.0, 4.0], atol=0.2)  # noise over steps of 1e-3 or so
    quiet = xd.grad(lambda x: np.sum(x**2, axis=0), [1.0, 2.0], method,
                    method_args=method_args, full_output=True)  # fmt: skip
    assert res.nfev == quiet.nfev
    assert res.ncalls == quiet.ncalls + 1
    # a func that gives x the same value twice and mixes points is still refused, noise or
    # not beside it (the mean's shift is far beyond 100 times its noise)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(lambda x: x[0] ** 2 + np.mean(x) + 1e-9 * rng.standard_normal(), [1.0, 2.0])
    # one noisy output does not excuse another that mixes points and is not noisy
    with pytest.raises(ValueError, match="mixes the points"):
        xd.jacobian(lambda x: np.stack([noisy(x), x[0] * np.mean(x)]), [1.0, 2.0])


def test_noise_of_many_outputs_is_pooled():
    """Independent noise on each of 100 outputs put some copy beyond 100 times its own
    output's noise in about half of the funcs (44 of 100 refused at a noise of 1e-6): the
    noise is pooled over the outputs, relative to their sizes."""
    rng = np.random.default_rng(5)
    k = np.arange(1, 101)

    def make():  # a fresh func: each is checked once
        def noisy(x):
            base = np.cos(np.multiply.outer(k, np.sum(x, axis=0))) + 2.0
            return base * (1 + 1e-6 * rng.standard_normal(base.shape))

        return noisy

    for _ in range(10):
        J = xd.jacobian(make(), rng.standard_normal(3), method_args={"d": 1e-2})
        assert J.shape == (100, 3)
    # a mixing output beside the noisy ones is still refused
    noisy = make()
    with pytest.raises(ValueError, match="mixes the points"):
        xd.jacobian(lambda x: np.concatenate([noisy(x), [x[0] * np.mean(x)]]), [1.0, 2.0, 0.5])


@pytest.mark.parametrize("name", list(MIXING))
@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_every_reduction_is_refused_by_hessian(name, method):
    """The complex hessian's points lie around the Richardson points: its copy is x's."""
    with pytest.raises(ValueError, match="mixes the points"):
        xd.hessian(MIXING[name], X, method)


def test_sparse_groups_and_batches_are_checked():
    pattern = np.eye(3, dtype=bool) | np.eye(3, k=1, dtype=bool)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.jacobian(lambda x: x * np.mean(x), X, sparsity=pattern)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.hessian(MIXING["mean"], X, sparsity=np.ones((3, 3), dtype=bool))
    batch = np.linspace(0.5, 2.0, 12).reshape(3, 4)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(lambda x: x[0] * np.mean(x), batch)


def test_the_check_costs_two_points_and_no_call():
    func = CountingFunc(lambda x: np.sum(np.sin(x), axis=0))
    res = xd.grad(func, X, full_output=True)
    assert func.calls == 2
    assert func.shapes == [(3,), (3, 2 * 4 * 3 + 2)]
    # nfev counts the derivative's points, not the copy and the sentinel
    assert res.nfev == 1 + 2 * 4 * 3
    assert res.ncalls == 2


@pytest.mark.parametrize(
    ("max_batch", "shapes"),
    [
        (26, [(3, 26)]),  # room in the one call
        (13, [(3, 13), (3, 13)]),  # spread over the calls: room in the last
        (24, [(3, 24), (3, 2)]),  # every call full: one more, of the two alone
        (12, [(3, 12), (3, 12), (3, 2)]),
    ],
)
def test_max_batch_filled_exactly_is_checked(max_batch, shapes):
    func = CountingFunc(lambda x: np.sum(np.sin(x), axis=0))
    g = xd.grad(func, X, max_batch=max_batch)
    assert func.shapes == [(3,), *shapes]
    np.testing.assert_array_equal(g, xd.grad(func, X))  # the same bits
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(MIXING["sum"], X, max_batch=max_batch)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(MIXING["mean"], [1.0, 2.0], max_batch=8)  # n = 2: the extra call is padded


@pytest.mark.parametrize(
    ("function", "x", "kwargs"),
    [
        (xd.derivative, np.linspace(0.5, 1.5, 12), {}),
        (xd.derivative, np.linspace(0.5, 1.5, 12), {"n": 2}),
        (xd.derivative, np.linspace(0.5, 1.5, 12), {"n": 3, "method": "Richardson"}),
        (xd.grad, np.linspace(0.5, 1.5, 30).reshape(3, 10), {}),
        (xd.hessian, np.linspace(0.5, 1.5, 30).reshape(3, 10), {}),
    ],
)
def test_a_call_at_x_in_chunks_of_max_batch_is_checked(function, x, kwargs):
    # func at x in calls of at most max_batch points: the check's call at x once more
    # takes the same chunks (in one call, a func that mixes points gave x other values,
    # taken for noise, and the derivatives were wrong without a word)
    def mixes(z):
        return np.exp(z - np.mean(z)) if function is xd.derivative else np.sum(z**2, axis=0)

    def mixes_batch(z):
        return np.sum(z**2, axis=0) + np.mean(z)

    func = mixes if function is xd.derivative else mixes_batch
    with pytest.raises(ValueError, match="mixes the points"):
        function(func, x, max_batch=5, **kwargs)


@pytest.mark.parametrize("points", [None, 2, 3])
@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("function", [xd.grad, xd.jacobian, xd.hessian])
def test_max_batch_equal_to_n_is_never_exceeded(function, n, points):
    # a call of exactly n points gets one more (evaluators.unpad): with max_batch = n the
    # calls held n + 1 points; now they hold at most n - 1, the call at x too
    shape = (n,) if points is None else (n, points)
    x = np.linspace(0.5, 1.5, math.prod(shape)).reshape(shape)

    def honest(z):
        value = np.sum(np.sin(z) * z, axis=0)
        return np.stack([value, z[0] * z[-1]]) if function is xd.jacobian else value

    func = CountingFunc(honest)
    result = function(func, x, max_batch=n)
    assert max(math.prod(s[1:]) for s in func.shapes) <= n
    np.testing.assert_allclose(result, function(honest, x), rtol=1e-9, atol=1e-12)

    def mixes(z):
        return honest(z) + np.mean(z)

    if n > 2:
        with pytest.raises(ValueError, match="mixes the points"):
            function(mixes, x, max_batch=n)
    else:  # one point per call, at x too: func cannot mix points (x (2, 3) was 1e3 off)
        alone = function(mixes, x, vectorized=False)
        np.testing.assert_allclose(function(mixes, x, max_batch=n), alone, rtol=1e-9)


def test_one_point_per_call_cannot_mix():
    func = CountingFunc(MIXING["sum"])
    g = xd.grad(func, X, max_batch=1)
    assert func.shapes == [(3,)] + [(3, 1)] * 24
    np.testing.assert_allclose(g, [7.0, 1.0, 1.0], rtol=1e-8)


def test_the_sentinel_stays_on_the_callers_side():
    """log near 0 with side=+1: every point func sees is positive (no warning here)."""
    seen = []

    def log(x):
        seen.append(np.array(x))
        return np.sum(np.log(x), axis=0)

    g = xd.grad(log, [1e-3, 2e-3], side=[1, 1])
    np.testing.assert_allclose(g, [1e3, 5e2], rtol=1e-6)
    assert all(np.all(p > 0) for p in seen)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_host_memory_libraries_are_checked(backend):
    lib = pytest.importorskip(backend)
    if backend == "torch":
        x, xs = lib.tensor(X, dtype=lib.float64), lib
    else:
        lib.config.update("jax_enable_x64", True)
        xs = pytest.importorskip("jax.numpy")
        x = xs.asarray(X, dtype=xs.float64)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(lambda p: p[0] * xs.mean(p), x)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(lambda p: p[0] * xs.mean(p), x, method="adaptive")
    g = xd.grad(lambda p: xs.sum(p * p, axis=0), x)
    np.testing.assert_allclose(np.asarray(g), 2 * np.array(X), rtol=1e-9)


# --- every function, every method -------------------------------------------------------


def _jvp(func, x, **kwargs):
    return xd.jvp(func, x, np.array([1.0, -1.0, 0.5]), **kwargs)


def _hvp(func, x, **kwargs):
    return xd.hvp(func, x, np.array([1.0, -1.0, 0.5]), **kwargs)


def _elementwise(func, x, **kwargs):
    return xd.derivative(lambda p: p * func(p), x, **kwargs)


#: each function of function mode, with the methods it has
EVERY_FUNCTION = [
    (xd.grad, {"method": "adaptive"}),
    (xd.grad, {"method": "adaptive", "max_batch": 7}),
    (xd.jacobian, {"method": "adaptive"}),
    (xd.hessian, {"method": "adaptive"}),
    (xd.genD, {}),
    (_elementwise, {}),
    (_elementwise, {"n": 2}),
    (_elementwise, {"n": 2, "method": "adaptive"}),
    (_elementwise, {"n": 3, "max_batch": 5}),
    (_elementwise, {"method": "adaptive"}),
    (_jvp, {}),
    (_jvp, {"method": "complex"}),
    (_jvp, {"max_batch": 2}),
    (_hvp, {}),
    (_hvp, {"max_batch": 4}),
]


@pytest.mark.parametrize(("function", "kwargs"), EVERY_FUNCTION)
@pytest.mark.parametrize("name", ["sum", "mean", "norm"])
def test_every_function_refuses_a_func_that_mixes_points(function, kwargs, name):
    func = MIXING[name]
    if function is xd.jacobian:
        func = lambda x, f=func: np.stack([f(x), x[1]])  # noqa: E731
    with pytest.raises(ValueError, match=r"mixes the points.*vectorized=False"):
        function(func, np.array(X), **kwargs)


@pytest.mark.parametrize(("function", "kwargs"), EVERY_FUNCTION)
def test_every_function_accepts_an_honest_func(function, kwargs):
    """The same func without the mixing: a finite answer, as point by point."""
    func = lambda x: x[0] * np.sum(x, axis=0)  # noqa: E731
    if function is xd.jacobian:
        func = lambda x: np.stack([x[0] * np.sum(x, axis=0), x[1]])  # noqa: E731
    if function is _elementwise:
        # elementwise, as derivative's func must be: x[0] * sum(x, axis=0) is one only on
        # (1, points), not on n = 1's (N,) coordinates, while vectorized=False gets (1,)
        func = lambda x: x * np.abs(x)  # noqa: E731
    batched = function(func, np.array(X), **kwargs)
    single = function(func, np.array(X), vectorized=False, **kwargs)
    batched = batched.D if function is xd.genD else batched
    single = single.D if function is xd.genD else single
    assert np.all(np.isfinite(batched))
    np.testing.assert_allclose(batched, single, rtol=1e-6, atol=1e-8)


# --- values off the host: NaN, computed on the device -----------------------------------


def test_array_api_strict_gives_nan_without_a_synchronisation():
    xps = pytest.importorskip("array_api_strict")
    from test_function_no_sync import values_stay_on_the_device

    x = xps.asarray(X, device=xps.Device("device1"))
    mixing = lambda p: p[0, ...] * xps.mean(p)  # noqa: E731
    honest = lambda p: p[0, ...] * xps.sum(p, axis=0)  # noqa: E731
    with values_stay_on_the_device():
        results = {
            "grad": xd.grad(mixing, x),
            "complex": xd.grad(mixing, x, "complex"),
            "adaptive": xd.grad(mixing, x, method="adaptive"),
            "max_batch": xd.grad(mixing, x, max_batch=12),
            "hessian": xd.hessian(mixing, x),
            "derivative": xd.derivative(lambda p: p * mixing(p), x, n=2),
            "hvp": xd.hvp(mixing, x, x),
            "jvp": xd.jvp(mixing, x, x),
            "honest": xd.grad(honest, x),
        }
    for name, value in results.items():
        assert value.device == x.device, name
        nan = np.isnan(np.asarray(value.to_device(xps.Device("CPU_DEVICE"))))
        assert np.all(nan) if name != "honest" else not np.any(nan), name


def test_dask_stays_lazy_and_gives_nan():
    da = pytest.importorskip("dask.array")
    from helpers import dask_must_not_compute

    x = da.from_array(np.array(X), chunks=2)
    with dask_must_not_compute():
        lazy = xd.grad(lambda p: p[0] * da.mean(p), x)
        H = xd.hessian(lambda p: p[0] * da.mean(p), x, method="adaptive")
        honest = xd.grad(lambda p: p[0] * da.sum(p, axis=0), x)
    assert isinstance(lazy, da.Array)
    assert np.all(np.isnan(lazy.compute()))
    assert np.all(np.isnan(H.compute()))
    np.testing.assert_allclose(honest.compute(), [7.0, 1.0, 1.0], rtol=1e-8)


@pytest.mark.parametrize("method", ["Richardson", "complex", "adaptive"])
def test_jax_jit_gives_nan(method):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x = jnp.asarray(X, dtype=jnp.float64)
    mixed = jax.jit(lambda p: xd.grad(lambda q: q[0] * jnp.mean(q), p, method))(x)
    assert np.all(np.isnan(np.asarray(mixed)))
    honest = jax.jit(lambda p: xd.grad(lambda q: q[0] * jnp.sum(q, axis=0), p, method))(x)
    np.testing.assert_allclose(np.asarray(honest), [7.0, 1.0, 1.0], rtol=1e-8)
    # a pass on eager arrays is not used under jax.jit: traced values are always checked
    func = CountingFunc(lambda q: jnp.sum(jnp.sin(q), axis=0))
    shapes = []
    for derivative in (lambda p: xd.grad(func, p, method),) * 2 + (
        jax.jit(lambda p: xd.grad(func, p, method)),
    ):
        func.shapes.clear()
        derivative(x)
        shapes.append(func.shapes[1])  # the first call after x alone
    checked, remembered, traced = shapes
    assert checked != remembered  # the copy of x and the sentinel, then not
    assert traced == checked


# --- no false alarm --------------------------------------------------------------------

HONEST = [
    lambda x: np.sum(x**3, axis=0) + x[0] * x[1],
    lambda x: np.exp(10 * x[0]) * 1e20 + x[1],  # a large dynamic range
    lambda x: (x[0] - x[1]) * 1e8 + np.tanh(x[2 % x.shape[0]]),  # cancellation
    lambda x: np.where(x[0] > 1.2, np.inf, np.sum(np.sin(x), axis=0)),  # inf at some points
    lambda x: np.where(x[0] > 1.2, np.nan, np.sum(np.sin(x), axis=0)),  # NaN at some points
    lambda x: np.log(x[0]) + np.sqrt(x[1 % x.shape[0]]),
]

POOL = concurrent.futures.ThreadPoolExecutor(2)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    func=st.sampled_from(range(len(HONEST))),
    method=st.sampled_from(["Richardson", "simple", "complex"]),
    evaluator=st.sampled_from(["batched", "pointwise", "map"]),
    max_batch=st.sampled_from([None, 1, 2, 7, 24, 25, 26]),
    shape=st.sampled_from([(2,), (3,), (3, 2), (2, 2, 2)]),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_no_false_alarm_on_honest_funcs(func, method, evaluator, max_batch, shape, dtype, seed):
    f = HONEST[func]
    x = np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(dtype)
    kwargs = {"max_batch": max_batch}
    if evaluator == "pointwise":
        kwargs["vectorized"] = False
    elif evaluator == "map":
        kwargs["workers"] = POOL.map
    with np.errstate(all="ignore"):
        g = xd.grad(f, x, method, **kwargs)
        honest = xd.grad(f, x, method, vectorized=False)
    np.testing.assert_array_equal(np.isfinite(g), np.isfinite(honest))
    if method != "complex" and shape[0] == 3:
        with np.errstate(all="ignore"):
            xd.hessian(f, x[..., 0] if x.ndim > 1 else x, **kwargs)


def test_no_false_alarm_with_worker_processes():
    from helpers import picklable_sc2

    g = xd.grad(picklable_sc2, [0.5, 1.0, 1.5], workers=2)
    assert np.all(np.isfinite(g))


# --- a func that passed is remembered ------------------------------------------------------


def _sines(x, *args):
    return np.sum(np.sin(x), axis=0)


def test_a_func_that_passed_is_not_checked_again():
    func = CountingFunc(_sines_kw)
    first = xd.grad(func, X, full_output=True)
    assert func.shapes == [(3,), (3, 2 * 4 * 3 + 2)]
    func.shapes.clear()
    again = xd.grad(func, X, full_output=True)
    assert func.shapes == [(3,), (3, 2 * 4 * 3)]  # no copy of x, no sentinel
    np.testing.assert_array_equal(again.value, first.value)
    assert (again.nfev, again.ncalls) == (first.nfev, first.ncalls)
    # another kind of call is checked again, once: x's shape, its dtype, other args or
    # kwargs, another method, side, max_batch, vectorized=False then True
    data = np.ones(1)
    for kwargs in (
        {"x": [*X, 4.0]},
        {"x": np.array(X, dtype=np.float32)},
        {"x": X, "args": (data,)},
        {"x": X, "args": (2.5,)},
        {"x": X, "kwargs": {"unused": data}},
        {"x": X, "method": "simple"},
        {"x": X, "side": [1, -1, 1]},
        {"x": X, "max_batch": 26},
    ):
        assert _extra_points(func, kwargs) == [2, 0], kwargs


def _extra_points(func, kwargs, times=2):
    """The points func got beyond the scheme's in the last call of each of ``times``
    grads: 2 where it was checked, 0 where it was not."""
    extra = []
    x = kwargs["x"]
    rest = {k: v for k, v in kwargs.items() if k != "x"}
    for _ in range(times):
        func.shapes.clear()
        res = xd.grad(func, x, full_output=True, **rest)
        extra.append(sum(math.prod(s[1:]) for s in func.shapes) - res.nfev)
    return extra


def test_weaker_passes_are_not_remembered():
    """A pass on a call that held only part of the points (max_batch, workers) checked
    less of the batch: it is not remembered, and every grad is checked. One with the
    caller's side is remembered for that side only: the documented blind spot (a max
    with side=-1) does not reach calls that would catch it."""
    func = CountingFunc(_sines)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        assert _extra_points(func, {"x": X, "workers": pool.map}) == [2, 2]
    assert _extra_points(func, {"x": X, "max_batch": 13}) == [2, 2]

    def blind(x):  # mixes points, unseen with side=-1: the sentinel goes down
        return np.sum(x, axis=0) * np.max(x)

    xd.grad(blind, X, side=[-1, -1, -1])
    for kwargs in ({}, {"method": "simple"}, {"max_batch": 4}):
        with pytest.raises(ValueError, match="mixes the points"):
            xd.grad(blind, X, **kwargs)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.hessian(blind, X)


def test_equal_funcs_are_remembered_apart():
    """By identity: an equal func object (``__eq__``) is another func."""

    @dataclasses.dataclass(frozen=True)
    class Model:
        scale: float
        axis: object = dataclasses.field(default=0, compare=False)

        def __call__(self, x):
            return self.scale * np.sum(x * x, axis=self.axis) * np.ones(x.shape[1:])

    xd.grad(Model(1.0), X)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(Model(1.0, axis=None), X)


def test_an_argument_that_is_gone_is_not_mistaken_for_a_new_one():
    """args are remembered by weak reference: a new object that takes a dead one's id
    is a new argument, and is checked."""

    def f(x, axis):
        return np.sum(x * x, axis=int(axis[0]) if axis.size else None) * np.ones(x.shape[1:])

    for _ in range(20):
        a = np.array([0])
        xd.grad(f, X, args=(a,))
        del a
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(f, X, args=(np.array([], dtype=int),))


def _sines_kw(x, *args, unused=None):
    return _sines(x)


def test_a_func_that_mixes_is_refused_every_time():
    func = CountingFunc(MIXING["sum"])
    for _ in range(3):
        with pytest.raises(ValueError, match="mixes the points"):
            xd.grad(func, X)


class _NoWeakReference:
    """A callable that cannot be referenced weakly (``__slots__`` without
    ``__weakref__``): it cannot be remembered, so it is checked on every call."""

    __slots__ = ("shapes",)

    def __init__(self):
        self.shapes = []

    def __call__(self, x):
        self.shapes.append(tuple(x.shape))
        return _sines(x)


def test_a_func_that_cannot_be_remembered_is_checked_every_time():
    func = _NoWeakReference()
    for _ in range(2):
        func.shapes.clear()
        xd.grad(func, X)
        assert func.shapes == [(3,), (3, 2 * 4 * 3 + 2)]


def test_a_numpy_ufunc_is_held_and_remembered(monkeypatch):
    """np.sin cannot be referenced weakly; it is held instead, so that repeated
    derivatives of a ufunc skip the check (and its two points) as a Python function's do."""
    from xpdiff._function import mixing, passes

    checks = []

    def counted(*args, **kwargs):
        checks.append(args[3])  # the number of the call's scheme values
        return check(*args, **kwargs)

    check = mixing.check_not_mixing
    monkeypatch.setattr(mixing, "check_not_mixing", counted)
    x = np.linspace(0.5, 3.0, 7)
    assert not passes.passed_any(np.sin)
    first = xd.derivative(np.sin, x)
    assert passes.passed_any(np.sin)
    assert len(checks) == 1
    again = xd.derivative(np.sin, x)  # the same numbers without the check's points
    assert len(checks) == 1
    np.testing.assert_array_equal(again, first)
    np.testing.assert_allclose(again, np.cos(x), rtol=1e-12)


class _Params(typing.NamedTuple):
    """An object that cannot be referenced weakly, with a method as func."""

    shift: float
    shapes: list

    def loss(self, x):
        self.shapes.append(tuple(x.shape))
        return np.sum(np.sin(x + self.shift), axis=0)


def test_a_kept_bound_method_of_an_object_without_weak_references_is_remembered():
    """Its object cannot be referenced weakly, so it is not remembered by function and
    object; the same bound method, kept and passed again, is remembered by itself."""
    loss = _Params(0.0, []).loss
    for _ in range(2):
        xd.grad(loss, X)
    assert loss.__self__.shapes == [(3,), (3, 2 * 4 * 3 + 2), (3,), (3, 2 * 4 * 3)]


def test_held_ufuncs_are_at_most_kinds():
    """Ufuncs are held, not referenced weakly: at most ``passes._KINDS`` at once, the
    oldest forgotten first (a program that makes ufuncs anew does not keep them all)."""
    from xpdiff._function import passes

    ufuncs = [u for u in vars(np).values() if type(u) is np.ufunc]
    ufuncs = list({id(u): u for u in ufuncs}.values())[: passes._KINDS + 5]
    assert len(ufuncs) == passes._KINDS + 5
    for u in ufuncs:
        passes.remember(u, (("a kind",), ()), 1)
    held = [u for u in ufuncs if passes.passed_any(u)]
    assert held == ufuncs[5:]
    assert passes.passed_on(ufuncs[-1], ("a kind",)) == 1
    assert passes.passed_on(ufuncs[0], ("a kind",)) is None


class _Model:
    """A class whose method is func: ``model.loss`` is a new bound method at every access."""

    def __init__(self, shift):
        self.shift = shift
        self.shapes = []

    def loss(self, x):
        self.shapes.append(tuple(x.shape))
        return np.sum(np.sin(x + self.shift), axis=0)


def test_a_bound_method_made_anew_is_remembered_by_function_and_object():
    """``grad(model.loss, x)`` in a loop: each access makes a new bound method, gone
    after the call; it is remembered by its function and object, so the second call
    skips the check's two points (and takes grad's quick path), as a plain function
    does. Another object of the class is another func: checked."""
    model, other = _Model(0.0), _Model(1.0)
    shapes = [(3,), (3, 2 * 4 * 3 + 2)]
    xd.grad(model.loss, X)
    assert model.shapes == shapes
    model.shapes.clear()
    again = xd.grad(model.loss, X)
    assert model.shapes == [(3,), (3, 2 * 4 * 3)]
    np.testing.assert_allclose(again, np.cos(X), rtol=1e-9)
    xd.grad(other.loss, X)
    assert other.shapes == shapes
    del model  # its object gone: the entry goes with it
    from xpdiff._function import passes

    assert not passes.passed_any(_Model(0.0).loss)
    assert passes.passed_any(other.loss)


def test_values_off_the_host_are_checked_every_time():
    """array-api-strict stands for a device: the check's flag is never read, so a func
    never passes there and is checked on every call (NaN where it mixes)."""
    strict = pytest.importorskip("array_api_strict")
    func = CountingFunc(lambda x: strict.sum(strict.sin(x), axis=0))
    x = strict.asarray(X, dtype=strict.float64)
    for _ in range(2):
        func.shapes.clear()
        xd.grad(func, x)
        assert func.shapes == [(3,), (3, 2 * 4 * 3 + 2)]


def test_jvp_of_a_func_that_passed_is_one_call_of_2r_plus_1_points():
    def vector(x):
        return np.stack([np.sum(x * x, axis=0), x[0] * np.sin(x[1]) + x[2]])

    func = CountingFunc(vector)
    v = np.array([1.0, -1.0, 0.5])
    first = xd.jvp(func, X, v, full_output=True)
    assert func.shapes == [(3,), (3, 8 + 2)]  # x alone, then the points, checked
    func.shapes.clear()
    again = xd.jvp(func, X, v, full_output=True)
    assert func.shapes == [(3, 1 + 8)]  # x and the 2 r points in one call
    assert (again.nfev, again.ncalls) == (9, 1)
    np.testing.assert_allclose(again.value, first.value, rtol=1e-13)
    exact = np.array([2 * np.array(X), [np.sin(X[1]), X[0] * np.cos(X[1]), 1.0]]) @ v
    np.testing.assert_allclose(again.value, exact, rtol=1e-9)


def test_no_reference_cycle_keeps_a_derivatives_problem():
    """The evaluator keeps the kind of call it checks for, not the problem (which holds
    the evaluator): off the host the check never clears it, and a cycle would keep
    xpdiff's copy of x (device memory on a GPU) until the garbage collector runs."""
    import gc

    from xpdiff._function.problem import Problem

    strict = pytest.importorskip("array_api_strict")
    x = strict.asarray(np.linspace(0.5, 1.5, 1000), dtype=strict.float64)
    gc.collect()
    # problems of earlier tests that something of theirs still holds (a kept exception's
    # frames) are not this test's
    before = {id(o) for o in gc.get_objects() if type(o) is Problem}
    gc.disable()
    try:
        xd.grad(lambda p: strict.sum(strict.sin(p), axis=0), x)
        with pytest.raises(ValueError, match="mixes the points"):
            xd.grad(MIXING["sum"], np.array(X))
        alive = [o for o in gc.get_objects() if type(o) is Problem and id(o) not in before]
    finally:
        gc.enable()
    assert alive == []


def test_complex_rounding_of_an_honest_func_is_not_taken_for_mixing():
    """NumPy's complex log1p(1e-12 + 0j) is 9e-5 off its real value: the complex step's
    copy of x (complex) differs from f(x) (real) beyond the tolerance; func at x once more,
    in complex arithmetic like the copy, shows the difference is not the batch's."""

    def honest(p):
        return np.log1p(np.sum(p * p, axis=0))

    def mixing(p):
        return np.log1p(np.sum(p * p, axis=0) + 1e-3 * np.mean(p))

    for x in (np.array([1e-6]), np.array([1e-6, -2e-6, 3e-6])):
        np.testing.assert_allclose(xd.grad(honest, x, "complex"), 2 * x, rtol=1e-9)
        with pytest.raises(ValueError, match="mixes the points"):
            xd.grad(mixing, x, "complex")


def test_complex_arithmetic_that_rounds_a_real_point_off_the_axis_is_refused():
    """CuPy's complex power goes through exp and log: at a real point, ``sum(p**3)`` has an
    imaginary part of rounding size (4.6e-17 in complex128 on an H200), the size of the
    complex step's signal ``h f'`` with h = eps: its derivative would be wrong (here
    [-0.023, 1.51, 2.13] for [-0.23, 1.05, 1.92]). Refused in host memory with its own
    message, never excused as noise; NaN off the host (array-api-strict stands in for a
    device); the same func with an exact power is differentiated."""

    def cube_by_logs(p):  # a complex power as CuPy computes it, for complex input
        xp = array_api_compat.array_namespace(p)
        cubes = xp.exp(3.0 * xp.log(p)) if xp.isdtype(p.dtype, "complex floating") else p**3
        return xp.sum(cubes, axis=0) + p[0, ...] * p[1, ...]

    def cube_exactly(p):
        xp = array_api_compat.array_namespace(p)
        return xp.sum(p * p * p, axis=0) + p[0, ...] * p[1, ...]

    x64 = np.array([0.3, -0.5, 0.8])
    exact = 3 * x64**2 + np.array([x64[1], x64[0], 0.0])
    with pytest.raises(ValueError, match="keeps a real point real"):
        xd.grad(cube_by_logs, x64, "complex")
    with pytest.raises(ValueError, match="keeps a real point real"):
        xd.hessian(cube_by_logs, x64, "complex")
    np.testing.assert_allclose(xd.grad(cube_exactly, x64, "complex"), exact, rtol=1e-14)
    for dtype in ("float32", "float64"):
        x = xps.asarray(x64, dtype=getattr(xps, dtype))
        assert np.all(np.isnan(np.asarray(xd.grad(cube_by_logs, x, "complex"))))
        assert np.all(np.isnan(np.asarray(xd.hessian(cube_by_logs, x, "complex"))))
        g = np.asarray(xd.grad(cube_exactly, x, "complex"))
        np.testing.assert_allclose(g, exact, rtol=1e-6 if dtype == "float32" else 1e-14)


def test_inexact_complex_arithmetic_does_not_excuse_a_func_that_mixes():
    """NumPy's complex log1p is far off its real one at small arguments; with func at x
    + 0i taken as the noise, a func that mixes points through a min over the batch was
    accepted, with wrong derivatives ([8.75e-06, 0, 0] for [2e-05, 0, 0], helper-31).
    The copy must match func at x + 0i alone, imaginary part too; else only func's own
    noise at the real x explains a difference."""
    for scale, dtype in ((1e-5, np.float32), (1e-12, np.float64)):

        def mixing(p, scale=scale):
            return np.log1p(p.dtype.type(scale) * p[0] * (1 + np.min(p)))

        x = np.array([1.0, 2.0, 3.0], dtype=dtype)
        for call in (xd.grad, xd.hessian):
            with pytest.raises(ValueError, match="mixes the points"):
                call(mixing, x, "complex")
        with pytest.raises(ValueError, match="mixes the points"):
            xd.jvp(lambda p: np.stack([mixing(p), p[1]]), x, np.ones(3, dtype), "complex")


def test_an_imaginary_part_far_below_the_steps_signal_is_accepted():
    """A term p**150 leaves 2.6e-26 at the real point (NumPy's power by squaring), far
    below the step's signal h f' (1e-16): the derivative is right to 1e-10, and it is
    not refused (it was, with any imaginary part at all)."""

    def f(p):
        return np.sum(p**2, axis=0) + 1e-12 * p[2] ** 150

    x = np.array([0.3, 0.5, -1.0])
    copy = f(x.astype(complex)[:, None])[0]
    assert copy.imag != 0  # the premise
    exact = 2 * x + np.array([0.0, 0.0, 150e-12 * x[2] ** 149])
    np.testing.assert_allclose(xd.grad(f, x, "complex"), exact, rtol=1e-9)


def test_noisy_outputs_do_not_excuse_a_noise_free_one_that_mixes():
    """The pooled noise goes to noisy outputs only, as their median relative noise: a
    residual near 0 (relative noise of order 1) or one output of noise 1e-3 let a
    noise-free output that mixes points pass, with a wrong Jacobian (review finding)."""
    rng = np.random.default_rng(11)

    def residual(x):  # a noisy residual about 0, beside a norm over the whole batch
        noise = 1e-6 * rng.standard_normal(np.shape(x[0]))
        return np.stack([x[0] - 1 + noise, x[1] / np.linalg.norm(x) + 0 * x[0]])

    def rough(x):  # noise of 1e-3 on one output, a mean over the whole batch beside it
        noise = 1e-3 * rng.standard_normal(np.shape(x[0]))
        return np.stack([np.exp(x[0]) * (1 + noise), x[1] / np.mean(x)])

    for func in (residual, rough):
        for _ in range(5):
            with pytest.raises(ValueError, match="mixes the points"):
                xd.jacobian(lambda x, func=func: func(x), np.array([1.0, 2.0]))
