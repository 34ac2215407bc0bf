"""xd.jvp and xd.hvp: matrix-free products, on every backend."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import traced_peak

import xpdiff as xd

X0 = np.array([0.5, 1.0, 1.5])
V0 = np.array([1.0, -2.0, 0.5])


def vector_func(backend):
    def f(z):
        return backend.stack([z[0, ...] * z[1, ...], backend.sin(z[2, ...]) * z[0, ...]])

    return f


def exact_jacobian(x):
    return np.array([[x[1], x[0], 0.0], [np.sin(x[2]), 0.0, x[0] * np.cos(x[2])]])


def scalar_func(backend):
    def f(z):
        return z[0, ...] ** 2 * z[1, ...] + backend.exp(z[2, ...]) * z[1, ...]

    return f


def exact_hessian(x):
    e = np.exp(x[2])
    return np.array([[2 * x[1], 2 * x[0], 0.0], [2 * x[0], 0.0, e], [0.0, e, e * x[1]]])


# --- jvp ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["Richardson", "complex", "simple"])
def test_jvp_every_backend(backend, method):
    value = xd.jvp(vector_func(backend.xp), backend.asarray(X0), backend.asarray(V0), method)
    got = backend.check(value, dtype=np.float64, shape=(2,))
    tolerance = 1e-3 if method == "simple" else 1e-10  # a forward difference: O(step)
    assert np.allclose(got, exact_jacobian(X0) @ V0, rtol=tolerance, atol=tolerance)


def test_jvp_several_directions_in_one_call(backend):
    V = np.stack([V0, np.array([0.0, 1.0, 0.0]), np.zeros(3)], axis=1)
    value = xd.jvp(vector_func(backend.xp), backend.asarray(X0), backend.asarray(V))
    got = backend.check(value, dtype=np.float64, shape=(2, 3))
    assert np.allclose(got, exact_jacobian(X0) @ V, rtol=1e-10, atol=1e-12)
    assert np.all(got[:, 2] == 0)  # a zero direction's product: 0, not rounding


def test_jvp_simple_step_that_moves_x_nowhere_is_nan(backend):
    # method "simple" moves x by eps / |v|_inf absolutely: eps = 1e-30 left x where it
    # was, and the product came out 0 (the values' difference) without a word
    V = np.stack([V0, np.zeros(3)], axis=1)
    args = {"eps": 1e-30}
    x, v = backend.asarray(X0), backend.asarray(V)
    value = xd.jvp(vector_func(backend.xp), x, v, "simple", args)
    got = backend.check(value, dtype=np.float64, shape=(2, 2))
    assert np.isnan(got[:, 0]).all()
    assert np.all(got[:, 1] == 0)  # a zero direction's product stays 0
    near_zero = xd.jvp(vector_func(np), np.zeros(3), V0, "simple", args)  # moves 0 by 1e-30
    assert np.isfinite(near_zero).all()


def test_jvp_v_as_numpy_or_list_with_any_backend(backend):
    value = xd.jvp(vector_func(backend.xp), backend.asarray(X0), V0.tolist())
    got = backend.check(value, dtype=np.float64, shape=(2,))
    assert np.allclose(got, exact_jacobian(X0) @ V0, rtol=1e-10)


def test_jvp_points_do_not_depend_on_n():
    rng = np.random.default_rng(1)
    for n in (3, 300):
        A = rng.standard_normal((4, n)) / np.sqrt(n)

        def f(z, A=A):
            return np.tanh(np.tensordot(A, z, axes=(1, 0)))

        x, v = rng.standard_normal(n), rng.standard_normal((n, 2))
        res = xd.jvp(f, x, v, full_output=True)
        assert isinstance(res, xd.JVPResult)
        assert res.ncalls == 2  # x alone (the mixing check's reference), then the 2 r k points
        assert res.nfev == 1 + 2 * 4 * 2
        exact = (1 - np.tanh(A @ x)[:, None] ** 2) * (A @ v)
        assert np.allclose(res.value, exact, rtol=1e-9, atol=1e-12)
        assert res.error.shape == (4, 2)
        assert res.steps.shape == (2,)


@pytest.mark.parametrize("m", [30, 3000])
def test_jvp_equals_jacobian_times_v_to_1e_8_at_n_1000(m):
    # issue 23's target on its size: no coordinate near 0, where xd.jacobian's relative
    # steps (numDeriv's d |x_i|) would make J's own rounding error the larger one
    rng = np.random.default_rng(1)
    n = 1000
    A = rng.standard_normal((m, n)) / np.sqrt(n)

    def f(z):
        return np.tanh(np.tensordot(A, z, axes=(1, 0)))

    x = rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
    v = rng.standard_normal(n)
    res = xd.jvp(f, x, v, full_output=True)
    assert (res.nfev, res.ncalls) == (2 * 4 + 1, 2)  # x alone, then the points
    Jv = xd.jacobian(f, x) @ v
    assert np.max(np.abs(res.value - Jv)) <= 1e-8 * np.max(np.abs(Jv))
    exact = (1 - np.tanh(A @ x) ** 2) * (A @ v)
    assert np.max(np.abs(res.value - exact)) <= 1e-9 * np.max(np.abs(exact))


def test_jvp_near_zero_coordinates_within_jacobians_own_error():
    rng = np.random.default_rng(0)
    n = 1000
    A = rng.standard_normal((30, n)) / np.sqrt(n)

    def f(z):
        return np.tanh(np.tensordot(A, z, axes=(1, 0)))

    x, v = rng.standard_normal(n), rng.standard_normal(n)
    res = xd.jvp(f, x, v, full_output=True)
    assert res.nfev <= 2 * 4 + 1
    assert res.ncalls == 2
    exact = (1 - np.tanh(A @ x) ** 2) * (A @ v)
    assert np.max(np.abs(res.value - exact)) <= 1e-10 * np.max(np.abs(exact))
    jac = xd.jacobian(f, x, full_output=True)
    Jv = jac.value @ v
    # J's columns at small |x_i| carry rounding errors ~ eps / (1e-4 |x_i|) (numDeriv's
    # relative step), up to ~1e-8 here: jvp agrees with J v within that error estimate
    # (to 1e-8 where no coordinate is near 0: the test above; here the two differ by
    # 1.3e-8 of J v in the 2-norm on one CPU, less on another); against the exact product
    # it is 100 times closer
    bound = 1e-8 * np.max(np.abs(Jv)) + np.abs(jac.error) @ np.abs(v)
    assert np.all(np.abs(res.value - Jv) <= bound)
    small = np.argsort(np.abs(x))[:10]
    J_exact = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    column_error = np.max(np.abs(jac.value - J_exact), axis=0)
    assert np.median(column_error[small]) > 100 * np.median(column_error)


@pytest.mark.parametrize("method", ["Richardson", "complex", "simple"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jvp_one_call_and_engine_layout_same_bits(method, dtype):
    f = vector_func(np)
    x = X0.astype(dtype)
    V = np.stack([V0, np.array([0.0, 1.0, 0.0])], axis=1).astype(dtype)
    # the one-call path serves vectorized=False (a vectorized func needs x alone first)
    one = xd.jvp(f, x, V, method, vectorized=False, full_output=True)
    assert one.ncalls == one.nfev
    split = xd.jvp(f, x, V, method, max_batch=2, full_output=True)  # the engine's layout
    assert split.ncalls >= 2  # x on its own, then the points
    assert one.value.dtype == split.value.dtype == dtype
    assert np.array_equal(one.value, split.value)
    assert np.array_equal(one.error, split.error, equal_nan=True)
    assert np.array_equal(one.steps, split.steps)
    assert one.nfev == split.nfev


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_jvp_numpy_primitives_keep_the_generic_bits(dtype):
    """_backend's NumPy paths of jvp's steps and points (max_abs, pick_scalar,
    stack_moved, is_numeric) give array-api-strict's numbers, to the bit."""
    xps = pytest.importorskip("array_api_strict")
    from array_api_compat import numpy as xpn

    from xpdiff import _host

    rng = np.random.default_rng(3)
    real = np.float32 if dtype == np.float32 else np.float64
    x = rng.standard_normal(7).astype(dtype if dtype != np.complex128 else real)
    moves = np.array([1.0, -1.0, 0.5], dtype=real).reshape(3, 1, 1)
    if dtype == np.complex128:
        x, moves = x.astype(dtype), (1e-8j * moves).astype(dtype)
    steps = rng.standard_normal((1, 2, 7)).astype(real)
    ours = _host.stack_moved(xpn, x, moves, steps)
    strict = _host.stack_moved(xps, xps.asarray(x), xps.asarray(moves), xps.asarray(steps))
    assert type(ours) is np.ndarray
    assert ours.shape == (1 + 3 * 2, 7)
    assert ours.dtype == dtype
    assert np.array_equal(ours, np.asarray(strict))
    assert np.array_equal(ours[1:].reshape(3, 2, 7), x + moves * steps)  # NumPy's own sum
    v = rng.standard_normal((7, 3)).astype(real)
    assert np.array_equal(_host.max_abs(xpn, v, axis=0), np.max(np.abs(v), 0, keepdims=True))
    assert np.array_equal(
        _host.max_abs(xpn, v, axis=0), np.asarray(_host.max_abs(xps, xps.asarray(v), 0))
    )
    size = _host.max_abs(xpn, v)
    assert size.dtype == real
    assert size == np.asarray(_host.max_abs(xps, xps.asarray(v)))
    for limit in (0.1, 100.0):  # either side of the condition
        ours_pick = _host.pick_scalar(xpn, size < limit, size + 1.0, size)
        strict_size = _host.max_abs(xps, xps.asarray(v))
        strict_pick = _host.pick_scalar(xps, strict_size < limit, strict_size + 1.0, strict_size)
        assert ours_pick.dtype == real
        assert ours_pick == float(strict_pick)
    for kind in (np.bool_, np.int8, np.uint64, real, np.complex64):
        assert _host.is_numeric(xpn, np.dtype(kind))
    assert not _host.is_numeric(xpn, np.dtype("U3"))
    assert not _host.is_numeric(xpn, np.dtype(object))
    for norm in ([[2.5]], [[0.0]], [[np.nan]], [[1e-310]], [[3.0, 0.0, np.nan]]):
        a = np.array(norm, dtype=real)
        ours_norm = _host.where_positive(xpn, a, 1.0)
        strict_norm = np.asarray(_host.where_positive(xps, xps.asarray(a), 1.0))
        assert ours_norm.dtype == real
        assert ours_norm.shape == a.shape
        assert np.array_equal(ours_norm, strict_norm)


def test_jvp_complex_step_nan_at_x_stays_nan_once_func_is_remembered():
    """The one-call path evaluates x in complex arithmetic: sqrt(-1 + 0j) = 1j is finite
    where the real value is NaN, and later calls gave about 1 / h (4.5e15) where the
    first gave NaN."""
    x = np.array([-1.0, 2.0])

    def f(p):
        return np.sqrt(p[0]) + p[1]

    with np.errstate(invalid="ignore"):
        got = [float(xd.jvp(f, x, [1.0, 0.0], method="complex")) for _ in range(3)]
        assert np.isnan(got).all()
        res = xd.jvp(f, x, [1.0, 0.0], method="complex", full_output=True)
    assert res.ncalls == 1  # the one-call path was taken
    fine = np.array([0.25, 2.0])
    values = [float(xd.jvp(f, fine, [1.0, 0.0], method="complex")) for _ in range(2)]
    np.testing.assert_allclose(values, 1.0, rtol=1e-15)  # d sqrt / dx at 0.25


def test_jvp_scalar_function_and_max_batch_workers():
    f = scalar_func(np)
    x = X0
    g = np.array([2 * x[0] * x[1], x[0] ** 2 + np.exp(x[2]), np.exp(x[2]) * x[1]])
    value = xd.jvp(f, x, V0)
    assert value.shape == ()
    assert float(value) == pytest.approx(g @ V0, rel=1e-10)
    split = xd.jvp(f, x, V0, max_batch=3, full_output=True)  # the engine's layout
    # 8 points and the check's 2, 2 per call (max_batch = n = 3: a call of 3 points would
    # be padded to 4): another max_batch is another kind of call, checked although f
    # passed above (passes.remember)
    assert split.ncalls == 1 + 5
    assert np.array_equal(split.value, value)
    with ThreadPoolExecutor(2) as pool:
        assert np.array_equal(xd.jvp(f, x, V0, workers=pool.map), value)
    assert np.array_equal(xd.jvp(lambda z: f(z), x, V0, vectorized=False), value)


# --- hvp ----------------------------------------------------------------------------------


def test_hvp_every_backend(backend):
    value = xd.hvp(scalar_func(backend.xp), backend.asarray(X0), backend.asarray(V0))
    got = backend.check(value, dtype=np.float64, shape=(3,))
    assert np.allclose(got, exact_hessian(X0) @ V0, rtol=1e-9, atol=1e-9)


def test_hvp_several_directions(backend):
    V = np.stack([V0, np.eye(3)[0], np.zeros(3)], axis=1)
    res = xd.hvp(
        scalar_func(backend.xp), backend.asarray(X0), backend.asarray(V), full_output=True
    )
    got = backend.check(res.value, dtype=np.float64, shape=(3, 3))
    assert np.allclose(got, exact_hessian(X0) @ V, rtol=1e-9, atol=1e-9)
    # a zero direction's product and its error: 0, not the rounding of the other
    # directions' weights (each level's two base points are x: their difference first)
    error = backend.check(res.error, dtype=np.float64, shape=(3, 3))
    assert np.all(got[:, 2] == 0)
    assert np.all(error[:, 2] == 0)
    assert np.all(np.isfinite(error) & (error >= 0))


def rosenbrock(z):
    return np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2, axis=0)


def rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    diagonal = np.zeros(n)
    diagonal[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    diagonal[1:] += 200
    H[np.arange(n), np.arange(n)] = diagonal
    H[np.arange(n - 1), np.arange(1, n)] = H[np.arange(1, n), np.arange(n - 1)] = -400 * x[:-1]
    return H


def test_hvp_at_n_200_fewer_points_than_hessian_same_product():
    rng = np.random.default_rng(2)
    n = 200
    x, v = rng.uniform(0.5, 1.5, n), rng.standard_normal(n)
    res = xd.hvp(rosenbrock, x, v, full_output=True)
    assert isinstance(res, xd.HVPResult)
    assert res.nfev == 1 + 4 * 4 * n  # 4 r n, linear in n
    hessian = xd.hessian(rosenbrock, x, full_output=True)
    assert hessian.nfev >= 20 * res.nfev
    Hv = hessian.value @ v
    assert np.max(np.abs(res.value - Hv)) <= 1e-6 * np.max(np.abs(Hv))
    exact = rosenbrock_hessian(x) @ v
    assert np.max(np.abs(res.value - exact)) <= 1e-9 * np.max(np.abs(exact))
    assert np.all(res.error <= 1e-6 * np.max(np.abs(exact)))


@pytest.mark.parametrize("method", ["trust-krylov", "Newton-CG"])
def test_hvp_drives_scipy_to_the_optimum_in_1000_dimensions(method):
    # truncated Newton (Newton-CG) and Newton-Krylov (trust-krylov) with hessp= alone
    optimize = pytest.importorskip("scipy.optimize")
    n = 1000

    def extended_rosenbrock(z):
        a, b = z[0::2], z[1::2]
        return np.sum(100 * (b - a**2) ** 2 + (1 - a) ** 2, axis=0)

    def gradient(x):
        a, b = x[0::2], x[1::2]
        g = np.empty_like(x)
        g[0::2] = -400 * a * (b - a**2) - 2 * (1 - a)
        g[1::2] = 200 * (b - a**2)
        return g

    def hessp(x, p):
        return xd.hvp(extended_rosenbrock, x, p, method_args={"r": 2})

    x0 = np.tile([-1.2, 1.0], n // 2)
    res = optimize.minimize(
        extended_rosenbrock,
        x0,
        jac=gradient,
        hessp=hessp,
        method=method,
        options={"gtol": 1e-10} if method == "trust-krylov" else {"xtol": 1e-12},
    )
    assert res.success, res.message
    assert np.max(np.abs(res.x - 1.0)) < 1e-8


@pytest.mark.parametrize("product", ["jvp", "hvp"])
def test_args_and_kwargs_reach_func(product):
    # func(x, *args, **kwargs), as for grad: scales and an offset of their own
    inner, exact = {
        "jvp": (vector_func(np), exact_jacobian(X0) @ V0),
        "hvp": (scalar_func(np), exact_hessian(X0) @ V0),
    }[product]

    def scaled(z, a, b=0.0, c=1.0):
        return a * c * inner(z) + b

    got = getattr(xd, product)(scaled, X0, V0, args=(3.0,), kwargs={"b": 7.0, "c": 2.0})
    np.testing.assert_allclose(got, 6.0 * exact, rtol=1e-7, atol=1e-9)


def test_hvp_max_batch_and_workers_change_nothing():
    f = scalar_func(np)
    whole = xd.hvp(f, X0, V0)
    assert np.array_equal(xd.hvp(f, X0, V0, max_batch=5), whole)
    with ThreadPoolExecutor(2) as pool:
        assert np.array_equal(xd.hvp(f, X0, V0, workers=pool.map), whole)


# --- what every product keeps --------------------------------------------------------------


@pytest.mark.parametrize("product", [xd.jvp, xd.hvp])
def test_callers_arrays_are_never_handed_to_func(product):
    x, v = X0.copy(), V0.copy()

    def mutating(z):
        out = scalar_func(np)(z)
        z[...] = 99.0
        return out

    product(mutating, x, v)
    assert np.array_equal(x, X0)
    assert np.array_equal(v, V0)


@pytest.mark.parametrize("product", [xd.jvp, xd.hvp])
def test_non_finite_values_give_nan(product):
    def f(z):
        return np.where(z[0] > 0.4, np.inf, z[0] ** 2 * z[1])

    value = product(f, np.array([0.5, 1.0]), np.array([1.0, 0.0]))
    assert np.all(np.isnan(value))


@pytest.mark.parametrize("product", [xd.jvp, xd.hvp])
def test_show_details_is_refused(product, capsys):
    """Neither builds a Richardson table: show_details was accepted and ignored."""
    calls = []
    f = scalar_func(np)
    for key in ("show_details", "show.details"):
        with pytest.raises(ValueError, match=r"show_details=True .* builds none"):
            product(lambda z: calls.append(1) or f(z), X0, V0, method_args={key: True})
    assert calls == []  # refused before func is called
    assert capsys.readouterr().out == ""
    plain = product(f, X0, V0)
    assert np.array_equal(product(f, X0, V0, method_args={"show_details": False}), plain)


@pytest.mark.parametrize("product", [xd.jvp, xd.hvp])
def test_bad_arguments(product):
    f = scalar_func(np)
    with pytest.raises(ValueError, match=r"v must have shape \(3,\) or \(3, k\)"):
        product(f, X0, np.ones(4))
    with pytest.raises(ValueError, match=r"v must have shape"):
        product(f, X0, np.ones((3, 2, 1)))
    with pytest.raises(ValueError, match=r"x must be a vector"):
        product(f, np.ones((3, 2)), V0)
    with pytest.raises(TypeError, match="v must be real"):
        product(f, X0, V0 + 1j)
    with pytest.raises(ValueError, match=r"method must be one of|method not implemented"):
        product(f, X0, V0, "nope")
    with pytest.raises(TypeError, match="func must be callable"):
        product(None, X0, V0)
    # not an array of numbers: a TypeError naming what was given (was a shape ValueError)
    for v in (None, "ab", b"ab"):
        with pytest.raises(TypeError, match=r"v must be a real array of shape \(3,\)"):
            product(f, X0, v)
    with pytest.raises(TypeError, match="v must be a real array, got dtype <U1"):
        product(f, X0, ["a", "b", "c"])
    with pytest.raises(TypeError, match="v is a masked array"):  # as x's mask is refused
        product(f, X0, np.ma.masked_array(V0, [0, 1, 0]))


def test_hvp_needs_a_scalar_function():
    with pytest.raises(ValueError, match="hvp assumes a scalar valued function"):
        xd.hvp(vector_func(np), X0, V0)
    with pytest.raises(ValueError, match="method not implemented"):
        xd.hvp(scalar_func(np), X0, V0, "complex")


def test_mixing_libraries_is_a_type_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="x is a numpy array but a direction v is a torch array"):
        xd.jvp(scalar_func(np), X0, torch.asarray(V0))


@pytest.mark.parametrize("scale", [1e-305, 1e-3, 1e15, 1e17, 1e300])
def test_jvp_complex_step_scaled_by_the_direction(scale):
    """The complex step moves no coordinate farther than i h: t = 1 / |v|_inf (the step
    was h v: a relative error of 1.05 at |v| = 1e16, 1e8 at 1e17, NaN at 1e300)."""
    v = V0 * scale
    with np.errstate(over="ignore"):
        exact = exact_jacobian(X0) @ v
    value = xd.jvp(vector_func(np), X0, v, "complex")
    assert np.all(np.isfinite(value))
    assert np.max(np.abs(value - exact)) < 1e-14 * np.max(np.abs(exact))


@pytest.mark.parametrize(
    "scale", [5e-324, 1e-310, 2.0**-1060, 1e300, 1e307, np.finfo(np.float64).max / 8]
)
@pytest.mark.parametrize("product", ["jvp", "hvp"])
def test_subnormal_and_huge_directions_are_scaled_by_a_power_of_two(product, scale):
    """The product is linear in v: v over a power of two, the product times it. A
    subnormal v had an infinite step (NaN), a huge one a subnormal step (1e308: NaN).
    Both the quick path (NumPy, no options) and the general one (full_output)."""
    v = V0 * scale
    with np.errstate(all="ignore"):
        exact = (exact_jacobian(X0) if product == "jvp" else exact_hessian(X0)) @ v
    func = vector_func(np) if product == "jvp" else scalar_func(np)
    if product == "jvp":
        xd.jvp(func, X0, V0)  # the mixing check passed: the next calls may take the quick path
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = getattr(xd, product)(func, X0, v)
        res = getattr(xd, product)(func, X0, v, full_output=True)
    assert np.array_equal(res.value, value)
    assert np.all(np.isfinite(value))
    tolerance = 1e-7 * np.max(np.abs(exact))
    if scale < 1e-300:  # the exact product is subnormal: its own rounding at most
        tolerance = max(tolerance, 4 * 5e-324)
    assert np.max(np.abs(value - exact)) <= tolerance
    assert np.all(res.error >= 0)
    step = res.steps if product == "jvp" else res.steps[1]
    unit = getattr(xd, product)(func, X0, V0, full_output=True)
    unit_step = unit.steps if product == "jvp" else unit.steps[1]
    with np.errstate(over="ignore", under="ignore"):  # the step along v itself
        assert step == unit_step * np.max(np.abs(V0)) / np.max(np.abs(v))


@pytest.mark.parametrize("product", ["jvp", "hvp"])
def test_direction_scaling_keeps_the_bits(product):
    """Powers of two commute with rounding: v = V0 * 2**40 gives the product of V0 times
    2**40 to the bit, and a direction with its largest coordinate in [1, 2) is as before."""
    func = vector_func(np) if product == "jvp" else scalar_func(np)
    call = getattr(xd, product)
    base = call(func, X0, V0, full_output=True)
    big = call(func, X0, V0 * 2.0**40, full_output=True)
    assert np.array_equal(big.value, base.value * 2.0**40)
    assert np.array_equal(big.error, base.error * 2.0**40)


def test_largest_float_direction_and_float32():
    """log2 of the largest float rounds up to 1024 (128 in float32): its power of two
    was inf, the product NaN (review finding)."""
    f = lambda z: 0.5 * z[0] + z[1]  # noqa: E731
    x = np.array([0.5, 0.25])
    for dtype in (np.float64, np.float32):
        top = np.finfo(dtype).max
        v = np.array([top, 0.0], dtype=dtype)
        value = xd.jvp(f, x.astype(dtype), v, kwargs={})
        assert value.dtype == dtype
        assert np.isclose(value, top / 2, rtol=1e-5)
    value = xd.hvp(lambda z: z[0] * z[1] * 0.5, x, np.array([np.finfo(np.float64).max, 0.0]))
    assert np.allclose(
        value, [0.0, np.finfo(np.float64).max / 2], rtol=1e-9, atol=1e-12 * value[1]
    )


def test_directions_of_far_apart_coordinates_keep_numderivs_step():
    """Where numDeriv's step h / |v|_inf is a normal float, v is not scaled: a direction
    whose coordinates span 600 orders kept its small ones (over a power of two first,
    3e-300 came out 0 on the general path and 3e-300 on the quick one; review finding)."""
    f = lambda z: 3 * z[1]  # noqa: E731
    x, v = np.array([1e300, 0.0]), np.array([1e300, 1e-300])
    general = xd.jvp(f, x, v, kwargs={})
    assert general == 3e-300
    assert xd.jvp(f, x, v) == general  # the quick path's turn


def test_huge_product_overflows_to_inf():
    """A product beyond float's range is inf, as J v's exact value rounds; not NaN."""
    value = xd.jvp(lambda z: 4 * z[0], np.array([1.0]), np.array([1e308]))
    assert value == np.inf


# --- the memory budget: directions, steps, base points counted; chunks of directions -----


def _peak(call, budget):
    """``call()`` under ``budget`` bytes (warmed up on a small problem by the caller):
    (its result, tracemalloc's peak in bytes)."""
    with xd.memory_budget(budget):
        return traced_peak(call)


def _directions(x, k):
    return np.stack([np.ones_like(x), np.cos(x), -x, np.full_like(x, 0.5)][:k], axis=1)


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
def test_jvp_several_directions_within_the_memory_budget(method):
    """n = m = 1e5, four directions under 16 MiB: the directions' steps, base points and
    outputs were not counted (1.7 to 2.2 times the budget). func's own share is its
    output on the largest call."""
    n, budget = 100_000, 16 * 2**20
    x = np.random.default_rng(4).uniform(0.5, 1.5, n)
    V = _directions(x, 4)
    largest = [0]

    def f(z):
        largest[0] = max(largest[0], z.size)
        return np.sin(z)

    with xd.memory_budget(budget):
        xd.jvp(f, x[:8], V[:8], method)  # imports and caches
    largest[0] = 0
    out, peak = _peak(lambda: xd.jvp(f, x, V, method), budget)
    share = (8 if method != "complex" else 16) * largest[0]  # np.sin's output
    assert peak - share <= budget, (peak, share)
    exact = np.cos(x)[:, None] * V
    assert out.shape == (n, 4)
    tolerance = 1e-3 if method == "simple" else 1e-9  # a forward difference: O(step)
    np.testing.assert_allclose(out, exact, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
def test_jvp_chunks_of_directions_agree_with_the_whole(method):
    """Under a small budget the directions go in chunks, each with its own engine run
    (its own copy of x and sentinel for the mixing check, not counted in nfev): the
    values, errors and steps are the unsplit ones, nfev unchanged."""
    x = np.random.default_rng(5).uniform(0.5, 1.5, 400)
    V = np.random.default_rng(6).standard_normal((400, 12))

    def f(z):
        return np.stack([np.sum(np.sin(z) * z[::-1], axis=0), np.exp(z[0]) * z[1]])

    whole = xd.jvp(f, x, V, method, full_output=True)
    with xd.memory_budget(64 * 1024):
        split = xd.jvp(f, x, V, method, full_output=True)
    assert split.ncalls > whole.ncalls + 2
    assert split.nfev == whole.nfev
    assert (split.value.shape, split.value.dtype) == (whole.value.shape, whole.value.dtype)
    scale = np.max(np.abs(whole.value))
    np.testing.assert_allclose(split.value, whole.value, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(split.error, whole.error, rtol=1e-6, atol=1e-12 * scale)
    np.testing.assert_array_equal(split.steps, whole.steps, strict=True)


def _hvp_func(z):
    return np.sum(np.sin(z) * z[::-1], axis=0)


def test_hvp_many_directions_within_the_memory_budget():
    """n = 300, 40 directions under 8 MiB: each direction's 2r columns of base points,
    steps and differences (3 x 8 x n numbers) were held for every direction at once
    (1.16 times the budget, now 0.97; under 4 MiB 1.99, now 1.23: the rest is the
    engine's plan of its calls, 1 to 2.4 KB of host objects per call, uncounted)."""
    n, k, budget = 300, 40, 8 * 2**20
    x = np.random.default_rng(7).uniform(0.5, 1.5, n)
    V = np.random.default_rng(8).standard_normal((n, k))
    with xd.memory_budget(budget):
        xd.hvp(_hvp_func, x[:8], V[:8])  # imports and caches
    out, peak = _peak(lambda: xd.hvp(_hvp_func, x, V), budget)
    assert peak <= budget, peak
    H = np.diag(-np.sin(x) * x[::-1])  # the exact Hessian
    H[np.arange(n), np.arange(n)[::-1]] += np.cos(x)[::-1] + np.cos(x)
    np.testing.assert_allclose(out, H @ V, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k", [1, 5])
def test_hvp_chunks_agree_with_the_whole(k):
    """Under a small budget hvp's base points go in chunks of columns (levels, signs and
    directions), each column's differences its own: the product agrees with the unsplit
    one within 1e-12 of its scale (the engine's units, cut by the budget, subtract f(x)
    from values in another grouping: rounding, amplified by 1 / (4 h t))."""
    n = 60
    x = np.random.default_rng(9).uniform(0.5, 1.5, n)
    V = np.random.default_rng(10).standard_normal((n, k))
    whole = xd.hvp(_hvp_func, x, V, full_output=True)
    with xd.memory_budget(64 * 1024):
        split = xd.hvp(_hvp_func, x, V, full_output=True)
    assert split.ncalls > whole.ncalls
    assert split.nfev == whole.nfev
    assert (split.value.shape, split.value.dtype) == (whole.value.shape, whole.value.dtype)
    scale = np.max(np.abs(whole.value))
    np.testing.assert_allclose(split.value, whole.value, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(split.error, whole.error, rtol=1e-6, atol=1e-12 * scale)


def test_jvp_level_by_level_agrees_with_the_whole(monkeypatch):
    """20,000 outputs under 1 MiB: one direction's 8 values of func (1.2 MiB) would fill
    the engine's share, so Richardson's levels go to the engine one after the other
    (around.by_levels), summed as they come: the unsplit product to rounding."""
    from xpdiff._function import around

    x = np.random.default_rng(11).uniform(0.5, 1.5, 30)
    V = np.random.default_rng(12).standard_normal((30, 3))
    scale = np.linspace(0.5, 1.5, 20_000)

    def f(z):
        return np.sin(np.multiply.outer(scale, np.sum(z * z, axis=0)))

    whole = xd.jvp(f, x, V, full_output=True)
    runs = []
    by_levels = around.by_levels

    def spy(*args):
        runs.append(args[3].shape)
        return by_levels(*args)

    monkeypatch.setattr(around, "by_levels", spy)
    with xd.memory_budget(2**20):
        split = xd.jvp(f, x, V, full_output=True)
    assert runs  # the levels went one after the other
    assert split.nfev == whole.nfev
    assert (split.value.shape, split.value.dtype) == (whole.value.shape, whole.value.dtype)
    # to rounding: func's values round at 1e-16 and the steps t are 1e-4, so both are
    # 1e-10 of their scale from the exact product, and from each other
    top = np.max(np.abs(whole.value))
    np.testing.assert_allclose(split.value, whole.value, rtol=0, atol=1e-9 * top)
    exact = (np.cos(np.multiply.outer(scale, np.sum(x * x))) * scale)[:, None] * (2 * x @ V)
    np.testing.assert_allclose(split.value, exact, rtol=1e-8, atol=1e-8)


def test_repeated_hvp_finds_its_plans_again():
    """hvp's scheme is the same object for the same n, so that the engine's plans cached
    per scheme are found again: a scheme made per call never was, and kept its plan and
    coordinates in the cache (47 KB per call at n = 5000, up to 256 of them)."""
    from xpdiff._function import engine

    x = np.linspace(0.5, 1.5, 40)

    def f(z):
        return np.sum(np.sin(z), axis=0)

    first = xd.hvp(f, x, np.ones(40))
    xd.hvp(f, x, np.ones(40))  # f passed the check for mixing points: the unchecked plans
    before = engine.linear_plan.cache_info()
    for _ in range(5):
        np.testing.assert_array_equal(xd.hvp(f, x, np.ones(40)), first)
    after = engine.linear_plan.cache_info()
    assert after.currsize == before.currsize
    assert after.hits >= before.hits + 5
    np.testing.assert_allclose(first, -np.sin(x), rtol=1e-7)


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
def test_a_non_finite_direction_gives_nan_without_warnings(method):
    """v with inf or NaN: that direction's products are NaN (never a finite number), the
    other directions' as without it, and no NumPy warning (the points x + t v were
    built outside NumPy's errstate: "invalid value encountered in multiply")."""

    def f(z):
        return np.stack([z[0] * z[1], np.sin(z[0])])

    x = np.array([1.0, 2.0])
    exact = np.array([[2.0, 1.0], [np.cos(1.0), 0.0]])  # J(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bad in (np.inf, -np.inf, np.nan):
            single = xd.jvp(f, x, np.array([bad, 1.0]), method=method)
            assert np.isnan(single).all()
            both = xd.jvp(f, x, np.array([[bad, 1.0], [1.0, 2.0]]), method=method)
            assert np.isnan(both[:, 0]).all()
            tol = 1e-3 if method == "simple" else 1e-9
            np.testing.assert_allclose(both[:, 1], exact @ np.array([1.0, 2.0]), rtol=tol)
            if method == "Richardson":
                hv = xd.hvp(lambda z: np.sum(z**3, axis=0), x, np.array([[bad, 1.0], [1.0, 1.0]]))
                assert np.isnan(hv[:, 0]).all()
                np.testing.assert_allclose(hv[:, 1], 6 * x, rtol=1e-7)


def test_an_infinite_x_gives_nan_not_zero_without_warnings():
    """x with an infinite coordinate: Richardson's step along v, numDeriv's ``d |x|_inf``,
    is infinite, its points all x's, and their differences (0) gave a product of 0 with an
    error estimate of 0 (the exact second component is 0.1); hvp warned "invalid value
    in add" building its base points. Now NaN, quietly; a float64 v beyond float32's range
    cast to float32 x ("overflow in cast") is an infinite direction: NaN too."""
    x, v = np.array([np.inf, 3.0]), np.array([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = xd.jvp(np.arctan, x, v, full_output=True)
        assert np.isnan(res.value).all()
        assert np.isnan(res.error).all()
        assert np.isnan(xd.jvp(np.arctan, x, np.stack([v, v[::-1]], axis=1))).all()
        hv = xd.hvp(lambda p: np.tanh(p[0]) + p[1] ** 2, x, np.array([1.0, 0.0]))
        assert np.isnan(hv).all()
        for product in (xd.jvp, xd.hvp):
            big = product(lambda p: np.sum(p**2, axis=0), np.float32([1, 2]), np.array([1e39, 0]))
            assert big.dtype == np.float32
            assert np.isnan(big).all()
    # the finite coordinates' steps of "simple" and "complex" reach them: J v as it is
    np.testing.assert_allclose(xd.jvp(np.arctan, x, v, method="complex"), [0.0, 0.1], rtol=1e-14)


def test_jvp_one_call_points_row_major_in_their_order(backend):
    """The one-call path builds its points along the coordinates and transposes them once:
    func still gets (n, 1 + 8 k) in row-major order where a library has layouts, x first,
    then set l of direction j in column 1 + l k + j."""
    seen = []

    def f(z):
        seen.append(z)
        return vector_func(backend.xp)(z)

    V = np.stack([V0, np.array([0.0, 1.0, 0.0])], axis=1)
    first = xd.jvp(f, backend.asarray(X0), backend.asarray(V))  # x alone, then the check
    calls = len(seen)
    value = xd.jvp(f, backend.asarray(X0), backend.asarray(V))  # passed: one call
    expected_value = exact_jacobian(X0) @ V
    assert np.allclose(backend.check(first, dtype=np.float64, shape=(2, 2)), expected_value)
    got = backend.check(value, dtype=np.float64, shape=(2, 2))
    assert np.allclose(got, expected_value, rtol=1e-10)
    if backend.name in ("dask", "array_api_strict"):
        # values off the host (a graph, a device): never remembered, checked on every call
        assert len(seen) - calls == 2
    else:
        _assert_one_call_points(backend, seen[-1], V)


def _assert_one_call_points(backend, points, V):
    assert tuple(points.shape) == (3, 17)
    if isinstance(points, np.ndarray):
        assert points.flags.c_contiguous
    if hasattr(points, "is_contiguous"):
        assert points.is_contiguous()
    host = backend.to_numpy(points)
    assert np.array_equal(host[:, 0], X0)
    t = 1e-4 * np.max(np.abs(X0)) / np.max(np.abs(V), axis=0)  # numDeriv's step along v
    moves = np.array([1.0, -1.0, 0.5, -0.5, 0.25, -0.25, 0.125, -0.125])
    for level, move in enumerate(moves):
        for j in range(2):
            assert np.array_equal(host[:, 1 + 2 * level + j], X0 + move * (V[:, j] * t[j]))


def test_v_on_another_device_of_xs_library_is_moved():
    """array-api-strict: x on device1, v on device2 gave the library's "Arrays from two
    different devices can not be combined"; the docstring says v is moved."""
    xps = pytest.importorskip("array_api_strict")
    x = xps.asarray(X0, device=xps.Device("device1"))
    v = xps.asarray(V0, device=xps.Device("device2"))
    f = vector_func(xps)
    got = xd.jvp(f, x, v)
    assert got.device == x.device
    expected = xd.jvp(vector_func(np), X0, V0)
    np.testing.assert_allclose(np.asarray(got.to_device(xps.Device("CPU_DEVICE"))), expected)
    hv = xd.hvp(scalar_func(xps), x, v)
    assert hv.device == x.device
    np.testing.assert_allclose(
        np.asarray(hv.to_device(xps.Device("CPU_DEVICE"))),
        exact_hessian(X0) @ V0,
        rtol=1e-6,
    )
