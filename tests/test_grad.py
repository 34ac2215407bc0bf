"""xpdiff.grad: numDeriv's grad, checked against numDeriv's own numbers, batched."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import array_api_compat
import numpy as np
import pytest
from helpers import CountingFunc, dask_must_not_compute
from reference_functions import exact_gradient, make

import xpdiff as xd

FIXTURES = json.loads((Path(__file__).parent / "reference" / "numderiv_grad.json").read_text())[
    "grad"
]
EXACT_CASES = [c for c in FIXTURES if "numDeriv inexact" not in c["name"]]
INEXACT_CASES = [c for c in FIXTURES if "numDeriv inexact" in c["name"]]
METHODS = ["Richardson", "simple", "complex"]


def normwise_relative(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


# --- numDeriv's numbers ----------------------------------------------------------


@pytest.mark.parametrize("case", EXACT_CASES, ids=[c["name"] for c in EXACT_CASES])
def test_matches_numderiv(backend, case):
    x = np.array(case["x"], dtype=np.float64)
    func = CountingFunc(make(case["func"], backend.xp))
    g = xd.grad(
        func,
        backend.asarray(x),
        case["method"],
        side=case["side"],
        method_args=case["method_args"] or None,
    )
    values = backend.check(g, dtype=np.float64, shape=x.shape)
    assert normwise_relative(values, case["result"]) < 1e-8
    assert func.calls == 2


@pytest.mark.parametrize("case", INEXACT_CASES, ids=[c["name"] for c in INEXACT_CASES])
def test_more_accurate_than_numderiv(case):
    """One-sided Richardson and v != 2: numDeriv's weights are wrong, xpdiff's are not."""
    x = np.array(case["x"])
    exact = exact_gradient(case["func"], x)
    ours = xd.grad(
        make(case["func"], np),
        x,
        case["method"],
        side=case["side"],
        method_args=case["method_args"] or None,
    )
    ours_error = np.max(np.abs(ours - exact))
    numderiv_error = np.max(np.abs(np.array(case["result"]) - exact))
    assert ours_error < numderiv_error / 20, (ours_error, numderiv_error)


def test_one_sided_sin_within_1e9():
    for side in (-1, 1):
        g = xd.grad(np.sin, -0.5, side=[side])
        assert abs(g - math.cos(-0.5)) < 1e-9
    numderiv = next(c for c in INEXACT_CASES if c["name"].startswith("sin at -0.5 side=-1"))
    assert abs(numderiv["result"][0] - math.cos(-0.5)) > 1e-6


def test_numderiv_documented_examples():
    """grad(sin, pi); func1 at 2.04 and 1:10; sc2: numDeriv's printed accuracy."""
    assert xd.grad(np.sin, np.pi) == pytest.approx(-1.0, abs=1e-11)
    func1 = make("func1", np)
    x = 2.04
    numd1 = xd.grad(func1, x)
    exact = 10 * math.cos(10 * x) + math.exp(-x)
    # numDeriv prints a relative error of about -1.2e-12 here
    assert abs((numd1 - exact) / exact) < 1e-11
    x = np.arange(1.0, 11.0)
    exact = 10 * np.cos(10 * x) + np.exp(-x)
    assert np.max(np.abs((xd.grad(func1, x) - exact) / exact)) < 1e-8
    assert np.max(np.abs((xd.grad(func1, x, "complex") - exact) / exact)) < 1e-14
    sc2 = next(c for c in FIXTURES if c["name"] == "doc sc2")
    x0 = np.array(sc2["x"])
    exact = exact_gradient("sc2", x0)
    g = xd.grad(make("sc2", np), x0)
    gc = xd.grad(make("sc2", np), x0, method="complex")
    # numDeriv reaches 1.7e-08 and 1.2e-16 on these points (its fixture values)
    assert np.max(np.abs(exact - g) / (1 + np.abs(exact))) < 5e-8
    assert np.max(np.abs(exact - gc) / (1 + np.abs(exact))) < 1e-15


# --- one call for all perturbed points ----------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [1, 2, 50, 500])
def test_two_calls_whatever_n(method, n):
    func = CountingFunc(make("sc2", np))
    x = np.linspace(-1.0, 1.0, n)
    g = xd.grad(func, x, method)
    assert func.calls == 2
    points = {"Richardson": 2 * 4 * n, "simple": n, "complex": n}[method]
    # an unperturbed copy of x and a sentinel check that func does not mix points; a
    # square batch gets one more point, so that a func reducing the wrong axis is caught
    assert func.shapes == [(n,), (n, points + 2 + (points + 2 == n > 1))]
    atol = {"Richardson": 1e-5, "simple": 1e-3, "complex": 1e-13}[method]
    np.testing.assert_allclose(g, exact_gradient("sc2", x), rtol=0, atol=atol)


@pytest.mark.parametrize("method", METHODS)
def test_batch_of_points_in_two_calls(backend, method):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 4, 5))
    func = CountingFunc(make("cubic_mix", backend.xp))
    g = xd.grad(func, backend.asarray(x), method)
    values = backend.check(g, dtype=np.float64, shape=x.shape)
    assert func.calls == 2
    for i in range(4):
        for j in range(5):
            single = xd.grad(make("cubic_mix", np), x[:, i, j], method)
            # reductions over a batch may round differently than over one point
            np.testing.assert_allclose(values[:, i, j], single, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_elementwise_function(backend, method):
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    func = CountingFunc(make("exp_elem", backend.xp))
    values = backend.check(xd.grad(func, backend.asarray(x), method), dtype=np.float64, shape=(4,))
    rtol = 1e-4 if method == "simple" else 1e-9  # forward difference: error ~ eps/2
    np.testing.assert_allclose(values, np.exp(x), rtol=rtol)
    assert func.calls == 2


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("max_batch", [1, 7, 40, 64, 10_000])
def test_max_batch_fewest_calls_same_result(method, max_batch):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (8, 3))
    full = xd.grad(make("sc2", np), x, method)
    func = CountingFunc(make("sc2", np))
    g = xd.grad(func, x, method, max_batch=max_batch)
    points = {"Richardson": 2 * 4 * 8 * 3, "simple": 8 * 3, "complex": 8 * 3}[method]
    # the points, then a copy of x and a sentinel (the check that func does not mix
    # points) where the calls have room for them, else in one more call; none with one
    # point per call, where func cannot mix points
    extra = 2 if max_batch > 1 else 0
    at_x = math.ceil(3 / max_batch)  # the 3 base points at x: max_batch holds there too
    assert func.calls == at_x + math.ceil((points + extra) / max_batch)
    assert max(s[1] for s in func.shapes) <= max_batch
    assert sum(s[1] for s in func.shapes[at_x:]) == points + extra
    # the same points; only the sum inside func may round differently per batch
    np.testing.assert_allclose(g, full, rtol=1e-9, atol=1e-9)


def test_max_batch_on_every_backend(backend):
    x = np.linspace(0.1, 1.0, 6)
    func = CountingFunc(make("rosenbrock", backend.xp))
    g = xd.grad(func, backend.asarray(x), max_batch=5)
    values = backend.check(g, dtype=np.float64, shape=(6,))
    assert func.calls == 1 + math.ceil(2 * 4 * 6 / 5)
    np.testing.assert_allclose(values, xd.grad(make("rosenbrock", np), x), rtol=1e-9)


@pytest.mark.parametrize("max_batch", [1, 3, 4, 7])
def test_max_batch_on_a_batch_of_base_points_on_every_backend(backend, max_batch):
    # a chunk of one set of points (a rectangle that cuts a group): Dask's take with an
    # index of one number along axis 0 gave axis 0's whole length, and the points' reshape
    # failed ("total size of new array must be unchanged")
    x = np.random.default_rng(0).uniform(0.5, 1.5, (3, 10))

    def f(z):
        return backend.xp.sum(z**2, axis=0) + z[0, ...] * z[1, ...]

    # xp.asarray: Dask's one chunk along axis 0 (the harness's halves hid the bug)
    xb = backend.xp.asarray(x) if backend.name == "dask" else backend.asarray(x)
    for function, shape in ((xd.grad, (3, 10)), (xd.hessian, (3, 3, 10))):
        got = function(f, xb, max_batch=max_batch)
        values = backend.check(got, dtype=np.float64, shape=shape)
        expected = function(make_batch_reference, x)
        np.testing.assert_allclose(values, expected, rtol=1e-7, atol=1e-7)


def make_batch_reference(z):
    return np.sum(z**2, axis=0) + z[0] * z[1]


@pytest.mark.parametrize("method", METHODS)
def test_not_vectorized_same_results(backend, method):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, 4)
    seen = []

    def one_point(p):
        seen.append(tuple(p.shape))
        return make("log_quad", backend.xp)(p)

    g = xd.grad(one_point, backend.asarray(x), method, vectorized=False)
    values = backend.check(g, dtype=np.float64, shape=(4,))
    assert set(seen) == {(4,)}
    points = {"Richardson": 2 * 4 * 4, "simple": 4, "complex": 4}[method]
    assert len(seen) == 1 + points
    np.testing.assert_allclose(values, xd.grad(make("log_quad", np), x, method), rtol=1e-10)


def test_not_vectorized_batch_of_points():
    x = np.array([[0.5, 1.0], [1.5, -2.0]])
    g = xd.grad(lambda p: float(p[0] ** 2 * p[1]), x, vectorized=False)
    np.testing.assert_allclose(g, [2 * x[0] * x[1], x[0] ** 2], rtol=1e-9)


# --- full_output, show_details, non-finite values ---------------------------------------


def test_full_output(backend):
    x = np.array([0.3, -0.7, 1.1])
    g, info = xd.grad(make("exp_cos", backend.xp), backend.asarray(x), full_output=True)
    backend.check(g, dtype=np.float64, shape=(3,))
    error = backend.check(info.error, dtype=np.float64, shape=(3,))
    assert np.all(np.isfinite(error))
    assert np.all(error < 1e-8)
    assert info.nfev == 1 + 2 * 4 * 3
    assert info.ncalls == 2
    assert info.method == "Richardson"
    assert info.method_args["r"] == 4
    assert len(info.table) == 4
    assert [len(column) for column in info.table] == [4, 3, 2, 1]
    steps = backend.check(info.steps, dtype=np.float64, shape=(4, 3))
    np.testing.assert_allclose(steps[0], 1e-4 * np.abs(x))
    np.testing.assert_allclose(steps[3], 1e-4 * np.abs(x) / 8)
    true_error = np.abs(backend.to_numpy(g) - exact_gradient("exp_cos", x))
    assert np.all(true_error < 1e-9)


def test_show_details_prints_table(capsys):
    xd.grad(np.sin, [0.5, 1.0], method_args={"show.details": True})
    out = capsys.readouterr().out
    assert "first order approximations" in out
    assert "Richarson improvement group No.  1" in out
    assert "Richarson improvement group No.  2" in out
    assert "Richarson improvement group No.  3" not in out
    assert "[4,]" in out
    assert "[,2]" in out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_richardson_table_holds_the_levels(backend, dtype):
    """float32's two ladders put two values and two errors before the levels: grad's and
    jacobian's tables took error rows for levels (first level 5e-7 for exp's 1.65)."""
    x0 = np.array([0.5, 1.0, 2.0], dtype=dtype)
    x = backend.asarray(x0)
    xp = backend.xp
    res = xd.grad(lambda z: xp.exp(z), x, full_output=True)
    jac = xd.jacobian(
        lambda z: xp.stack([xp.exp(z[0, ...]), z[1, ...] * z[2, ...]]), x, full_output=True
    )
    same = xd.derivative(xp.exp, x, n=1, method="Richardson", full_output=True)
    assert len(res.table) == len(same.table) == 4
    for ours, theirs in zip(res.table, same.table, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(backend.to_numpy(a), backend.to_numpy(b))
    first = backend.to_numpy(res.table[0][0])
    np.testing.assert_allclose(first, np.exp(x0), rtol=1e-2 if dtype == np.float32 else 1e-6)
    # jacobian's first level: row 0 is exp's derivative along x0, row 1 (x2, x1) along x1, x2
    level = backend.to_numpy(jac.table[0][0])
    np.testing.assert_allclose(level[0, 0], np.exp(0.5), rtol=1e-2)
    np.testing.assert_allclose(level[1, 1:], [2.0, 1.0], rtol=1e-2)


def test_non_finite_values_give_nan(backend):
    def func(x):
        # log of a negative number: NaN once the step crosses zero
        return backend.xp.sum(backend.xp.log(x), axis=0)

    x = np.array([1e-9, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = backend.to_numpy(xd.grad(func, backend.asarray(x), method_args={"eps": 1e-3}))
    assert math.isnan(g[0])
    assert g[1] == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_r_one_works(r):
    g, info = xd.grad(np.exp, np.array([0.5, 1.5]), method_args={"r": r}, full_output=True)
    np.testing.assert_allclose(g, np.exp([0.5, 1.5]), rtol=1e-7)
    assert len(info.table) == r
    if r == 1:
        assert np.all(np.isnan(info.error))


def test_float32(backend):
    x = np.linspace(-3, 3, 41).astype(np.float32)
    for method, tol in [("Richardson", 5e-5), ("simple", 2e-3), ("complex", 5e-7)]:
        g = xd.grad(make("exp_elem", backend.xp), backend.asarray(x), method)
        values = backend.check(g, dtype=np.float32, shape=x.shape)
        exact = np.exp(x.astype(np.float64))
        assert np.max(np.abs(values - exact) / (1 + exact)) < tol, method


@pytest.mark.skipif(
    np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps, reason="no wider float"
)
def test_longdouble_x_is_worked_in_float64():
    """A float wider than float64 (NumPy's longdouble) becomes float64, the widest the work
    has: it was made float32, as float16 is, losing nine digits without a word."""
    x = np.array([0.5, 1.0, 2.0], dtype=np.longdouble)
    calls = [
        lambda: xd.grad(np.sin, x),
        lambda: xd.jacobian(lambda p: np.stack([p[0] * p[1], p[2]]), x),
        lambda: xd.derivative(np.sin, x, n=2),
        lambda: xd.jvp(lambda p: np.sin(p), x, [1.0, 0.0, 0.0]),
    ]
    for call in calls:
        assert call().dtype == np.float64
    assert np.max(np.abs(xd.grad(np.sin, x) - np.cos(x.astype(np.float64)))) < 1e-10


def test_dask_x_of_unknown_sizes_is_a_clear_value_error():
    """x[x > 0] on Dask has shape (nan,): grad and jvp failed with "can't multiply sequence
    by non-int of type 'float'", derivative with "cannot convert float NaN to integer"."""
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.linspace(-1.0, 1.0, 10), chunks=5)
    unknown = x[x > 0]
    calls = [
        lambda: xd.grad(np.sin, unknown),
        lambda: xd.derivative(np.sin, unknown, n=2),
        lambda: xd.jvp(lambda p: p, unknown, np.ones(5)),
        lambda: xd.hessian(lambda p: np.sum(p, axis=0), unknown),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"x has sizes that are not known.*compute_chunk"):
            call()
    known = unknown.compute_chunk_sizes()
    assert 0 in known.chunks[0]  # (0, 5): Dask's min and max failed on the empty block
    values = known.compute()
    assert np.allclose(xd.grad(np.sin, known).compute(), np.cos(values))
    for method in ("adaptive", "Richardson"):  # derivative's mixing check reduced over it
        for n in (1, 2):
            got = xd.derivative(np.sin, known, n=n, method=method)
            assert isinstance(got, da.Array)
            assert 0 not in got.chunks[0]
            exact = np.cos(values) if n == 1 else -np.sin(values)
            np.testing.assert_allclose(got.compute(), exact, rtol=1e-8)
    np.testing.assert_allclose(xd.jvp(lambda p: p**2, known, np.ones(5)).compute(), 2 * values)
    hessian = xd.hessian(lambda p: np.sum(p**3, axis=0), known).compute()
    np.testing.assert_allclose(hessian, np.diag(6 * values), rtol=1e-7, atol=1e-7)


def test_args_and_kwargs():
    def func(x, a, *, b):
        return np.sum(a * x**2, axis=0) + b * x[0]

    g = xd.grad(func, [1.0, 2.0], args=(3.0,), kwargs={"b": 5.0})
    np.testing.assert_allclose(g, [6.0 + 5.0, 12.0], rtol=1e-10)


def test_caller_arrays_not_modified(backend):
    x = np.array([0.3, 0.6, 0.9])
    xb = backend.asarray(x)
    xd.grad(make("gauss", backend.xp), xb)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


def test_dask_stays_lazy():
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.array([0.3, -0.7, 1.1, 2.0]), chunks=2)
    with dask_must_not_compute():
        g = xd.grad(make("rosenbrock", da), x)
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(
        g.compute(), xd.grad(make("rosenbrock", np), np.array([0.3, -0.7, 1.1, 2.0]))
    )


# --- errors ---------------------------------------------------------------------------------


def test_unknown_method():
    with pytest.raises(
        ValueError, match=r"method must be one of 'Richardson', 'simple', 'complex'.*got 'fast'"
    ):
        xd.grad(np.sin, 1.0, method="fast")
    assert xd.grad(np.sin, 1.0, method="RICHARDSON") == xd.grad(np.sin, 1.0)


@pytest.mark.parametrize(
    ("method_args", "match"),
    [
        ({"step": 1e-3}, "unknown method_args key 'step'"),
        ({"r": 0}, "r must be an integer from 1 to 100, got 0"),
        ({"r": 1000}, "r must be an integer from 1 to 100, got 1000"),  # was an OverflowError
        ({"r": 2.5}, "r must be a whole number, got 2.5"),
        ({"v": 1}, "v .* must not be 1"),
        ({"d": -1.0}, "d must be a finite number > 0"),
        ({"zero_tol": -1.0}, "zero_tol must be a number >= 0"),
        ({"zero_tol": math.nan}, "zero_tol must be a number >= 0"),
    ],
)
def test_bad_method_args(method_args, match):
    with pytest.raises(ValueError, match=match):
        xd.grad(np.sin, [1.0, 2.0], method_args=method_args)


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex", "adaptive"])
@pytest.mark.parametrize(
    ("method_args", "match"),
    [
        ({"d": "x"}, "method_args d must be a real number, got str 'x'"),
        ({"r": "4"}, "method_args r must be an integer, got str '4'"),
        ({"v": True}, "method_args v must be a real number, got bool True"),
    ],
)
def test_a_bad_method_args_type_is_a_type_error_for_every_method(method, method_args, match):
    """One bad value, one error class (it was a ValueError for Richardson only)."""
    with pytest.raises(TypeError, match=match):
        xd.grad(np.sin, [1.0, 2.0], method, method_args=method_args)
    if method != "simple":
        with pytest.raises(TypeError, match=match):
            xd.hessian(lambda x: np.sum(x**2, axis=0), [1.0, 2.0], method, method_args)


def test_method_args_r_as_float_like_r():
    np.testing.assert_array_equal(
        xd.grad(np.sin, [1.0], method_args={"r": 4.0}), xd.grad(np.sin, [1.0])
    )


def test_side_errors():
    # numDeriv's messages, and what was given
    with pytest.raises(ValueError, match=r"same length as x \(got 1 value for 2 coordinates\)"):
        xd.grad(np.sin, [1.0, 2.0], side=[1])
    with pytest.raises(ValueError, match=r"should have values NA, \+1, or -1\. Got 2\.$"):
        xd.grad(np.sin, [1.0, 2.0], side=[1, 2])
    with pytest.raises(ValueError, match=r"Got 'a'\.$"):
        xd.grad(np.sin, [1.0], side="a")
    with pytest.raises(ValueError, match="method 'complex' does not support non-NULL"):
        xd.grad(np.sin, [1.0, 2.0], "complex", side=[1, None])
    # None and NaN both mean two-sided
    np.testing.assert_array_equal(
        xd.grad(np.sin, [1.0, 2.0], side=[None, math.nan]), xd.grad(np.sin, [1.0, 2.0])
    )


def test_scalar_function_required():
    with pytest.raises(ValueError, match=r"grad assumes a scalar valued function\."):
        xd.grad(lambda x: np.stack([x[0], x[1], x[0]]), [1.0, 2.0])


def test_complex_errors():
    def real_only(x):
        if np.iscomplexobj(x):
            raise TypeError("no complex here")
        return np.sum(x, axis=0)

    with pytest.raises(TypeError, match="does not accept complex argument"):
        xd.grad(real_only, [1.0, 2.0], "complex")
    with pytest.raises(TypeError, match="does not return a complex value"):
        xd.grad(lambda x: np.sum(np.real(x), axis=0), [1.0, 2.0], "complex")


def test_wrong_batch_shape_is_explained():
    def not_vectorized(x):
        return float(np.sum(x))  # ignores the batch

    with pytest.raises(ValueError, match="vectorized=False") as info:
        xd.grad(not_vectorized, [1.0, 2.0])
    message = str(info.value)
    # 16 points, an unperturbed copy of x and a sentinel (the check that func does not
    # mix points)
    assert "func returned shape () for a batch of points of shape (2, 18)" in message
    assert "expected (18,)" in message
    assert "vectorized=False" in message
    np.testing.assert_allclose(xd.grad(not_vectorized, [1.0, 2.0], vectorized=False), [1, 1])


def test_bad_x_and_max_batch():
    with pytest.raises(TypeError, match="x must be real"):
        xd.grad(np.sin, np.array([1j]))
    with pytest.raises(ValueError, match="max_batch must be an integer >= 1"):
        xd.grad(np.sin, [1.0], max_batch=0)


# --- with scipy.optimize ----------------------------------------------------------------


def test_scipy_minimize_with_xpdiff_jac():
    optimize = pytest.importorskip("scipy.optimize")
    rosen = make("rosenbrock", np)
    # scipy's own tutorial problem: the 5-D Rosenbrock function from this start
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
    result = optimize.minimize(
        rosen, x0, method="BFGS", jac=lambda x: xd.grad(rosen, x), options={"gtol": 1e-8}
    )
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(5), atol=1e-6)
    assert result.fun < 1e-12


# --- funcs that mix points, complex values, empty batches (issue 21) ---------------------

MIXING = {
    "sum": lambda x: x[0] * np.sum(x),
    "max": lambda x: x[0] * x.max(),
    "norm": lambda x: x[0] * np.linalg.norm(x),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(MIXING))
def test_a_func_that_mixes_points_is_refused(method, name):
    """np.sum(x) without axis=0 gave [144, 0, 0] for [7, 1, 1]: now a ValueError."""
    func = MIXING[name]
    with pytest.raises(ValueError, match=r"mixes the points.*vectorized=False"):
        xd.grad(func, [1.0, 2.0, 3.0], method)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.jacobian(lambda x: np.stack([func(x), x[1]]), [1.0, 2.0, 3.0], method)
    if method == "Richardson":  # the complex hessian's base points are perturbed: not checked
        with pytest.raises(ValueError, match="mixes the points"):
            xd.hessian(func, [1.0, 2.0, 3.0], method)
    if name == "norm" and method == "complex":
        return  # abs() is not analytic: no complex step, even point by point
    # the same func point by point is right
    g = xd.grad(func, [1.0, 2.0, 3.0], method, vectorized=False)
    exact = {"sum": [7, 1, 1], "max": [3, 0, 1], "norm": [0, 0, 0]}[name]
    if name == "norm":
        r = math.sqrt(14)
        exact = [r + 1 / r, 2 / r, 3 / r]
    np.testing.assert_allclose(g, exact, rtol=1e-4)


def test_np_mean_is_refused():
    """A central batch averages back to x: the sentinel moves the mean (issue 21)."""
    for method in METHODS:
        with pytest.raises(ValueError, match="mixes the points"):
            xd.grad(lambda x: x[0] * np.mean(x), [1.0, 2.0, 3.0], method)
    with pytest.raises(ValueError, match="mixes the points"):
        xd.grad(lambda x: x[0] * np.mean(x), [1.0, 2.0, 3.0], side=[1, 1, 1])


HONEST = [
    ("elementwise", np.sin, (3,)),
    ("vector", lambda x: np.sum(np.cos(x) * x, axis=0), (4,)),
    ("batched", lambda x: np.sum(x**3, axis=0) + x[0] * x[1], (3, 2, 2)),
    ("matmul", lambda x: np.arange(1.0, 10.0).reshape(3, 3) @ np.exp(x), (3,)),
    ("einsum", lambda x: np.einsum("i...,i...->...", x, np.sin(x)), (3, 5)),
    ("cancel", lambda x: (x[0] - x[1]) * 1e8 + np.tanh(x[2]), (3,)),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "options",
    [{}, {"max_batch": 1}, {"max_batch": 2}, {"max_batch": 7}, {"workers": 2}],
    ids=["default", "max_batch=1", "max_batch=2", "max_batch=7", "workers=2"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_false_alarm_on_honest_vectorized_funcs(method, options, dtype):
    rng = np.random.default_rng(4)
    workers = options.get("workers")
    kwargs = {"max_batch": options.get("max_batch")}
    if workers:
        import concurrent.futures

        pool = concurrent.futures.ThreadPoolExecutor(workers)
        kwargs["workers"] = pool.map
    for _, func, shape in HONEST:
        x = rng.uniform(0.5, 1.5, shape).astype(dtype)
        value = xd.grad(func, x, method, **kwargs)
        if func is np.sin:
            loose = dtype is np.float32 or method == "simple"
            np.testing.assert_allclose(value, np.cos(x), atol=2e-2 if loose else 1e-6)
        assert np.all(np.isfinite(value))
        xd.jacobian(lambda p, f=func: np.stack([f(p), 2 * f(p)]), x, method, **kwargs)
    if workers:
        pool.shutdown()


def test_complex_step_refuses_a_complex_valued_func():
    func = lambda x: 1j * np.sum(x * x, axis=0)  # noqa: E731
    with pytest.raises(ValueError, match="complex values at the real point x"):
        xd.grad(func, [1.0, 2.0], "complex")
    with pytest.raises(ValueError, match="complex values at the real point x"):
        xd.jacobian(lambda x: np.stack([func(x), x[0]]), [1.0, 2.0], "complex")
    # a real func computed in complex arithmetic (zero imaginary part at x) is fine
    g = xd.grad(lambda x: np.sum(x.astype(complex) ** 2, axis=0), [1.0, 2.0], "complex")
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-14)


@pytest.mark.parametrize("method", [*METHODS, "adaptive"])
@pytest.mark.parametrize("vectorized", [True, False])
def test_an_empty_batch_gives_an_empty_result(backend, method, vectorized):
    """x of shape (n, 0): ZeroDivisionError before; now results of shape (..., 0)."""
    if backend.name == "dask":
        pytest.skip("dask: an empty chunk of a batch is not a case of its own")
    x = backend.asarray(np.zeros((3, 0)))
    lib = backend.xp
    scalar = lambda p: lib.sum(p * p, axis=0)  # noqa: E731
    g = xd.grad(scalar, x, method, vectorized=vectorized)
    backend.check(g, dtype=np.float64, shape=(3, 0))
    e = xd.grad(lib.sin, x, method, vectorized=vectorized)
    backend.check(e, dtype=np.float64, shape=(3, 0))
    if vectorized:
        j = xd.jacobian(lambda p: p * 2.0, x, method, vectorized=vectorized)
        backend.check(j, dtype=np.float64, shape=(3, 3, 0))
    if method != "simple":
        h = xd.hessian(scalar, x, method, vectorized=vectorized)
        backend.check(h, dtype=np.float64, shape=(3, 3, 0))
    res = xd.grad(scalar, x, method, vectorized=vectorized, full_output=True)
    backend.check(res.value, dtype=np.float64, shape=(3, 0))


def test_r_too_large_is_a_value_error_naming_r():
    with pytest.raises(ValueError, match="r=60 leaves only rounding noise"):
        xd.grad(np.sin, [1.0], method_args={"r": 60})
    for r in (1000, 10**9):
        with pytest.raises(ValueError, match=f"method_args r must be .*got {r}"):
            xd.grad(np.sin, [1.0], method_args={"r": r})
        with pytest.raises(ValueError, match="r"):
            xd.hessian(lambda x: np.sum(x**2, axis=0), [1.0], method_args={"r": r})


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_func_values_of_another_dtype_are_taken_in_xs(backend, dtype):
    """Integers (a constant) and floats of another precision than x's: derivatives in x's
    floating dtype with every method. PyTorch's and array-api-strict's matrix products do
    not promote (RuntimeError "expected scalar type Double but found Long", TypeError),
    the complex step refused an integer constant, and NumPy gave float64 for float32 x."""
    if not backend.supports(dtype):
        pytest.skip(f"{backend.name} has no {np.dtype(dtype).name}")
    xp = backend.xp
    x0 = np.array([0.5, 1.5], dtype=dtype)
    x = backend.asarray(x0)
    other = xp.float32 if dtype == np.float64 else xp.float64

    def constant(p):
        return xp.astype(xp.full(p.shape[1:], 3, device=array_api_compat.device(p)), xp.int64)

    def square_other(p):  # x0^2 + x1^2 computed in the other precision
        q = xp.astype(p, other) if not xp.isdtype(p.dtype, "complex floating") else p
        return xp.sum(q * q, axis=0)

    for method in ("Richardson", "simple", "complex", "adaptive"):
        with warnings.catch_warnings():
            if backend.name == "dask":  # np.errstate does not reach Dask's threads: a
                # constant's 0 / 0 in the adaptive selection warns there (a known gap)
                warnings.simplefilter("ignore", RuntimeWarning)
            zero = backend.check(xd.grad(constant, x, method=method), dtype=dtype, shape=(2,))
        np.testing.assert_array_equal(zero, 0.0)
        g = backend.check(xd.grad(square_other, x, method=method), dtype=dtype, shape=(2,))
        # the other precision: float32 values for float64 x, hence float32's accuracy
        np.testing.assert_allclose(g, 2 * x0, rtol=2e-2)
    jac = backend.check(xd.jacobian(constant, x), dtype=dtype, shape=(1, 2))
    np.testing.assert_array_equal(jac, 0.0)


def test_derivative_of_an_integer_valued_func():
    """derivative's ladder (n >= 2, adaptive) wrote floats into func's int64 values."""
    x = np.array([0.5, 1.5])
    for n in (1, 2, 3):
        d = xd.derivative(lambda q: (q * 0).astype(np.int64), x, n=n)
        assert d.dtype == np.float64
        np.testing.assert_array_equal(d, 0.0)
