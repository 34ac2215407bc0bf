"""xpdiff.jacobian, genD and hessian: numDeriv's numbers, batched, on every backend."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import CountingFunc
from reference_functions import make

import xpdiff as xd

CASES = json.loads((Path(__file__).parent / "reference" / "numderiv_grad.json").read_text())[
    "second"
]


def run(kind, func, x, case):
    if kind == "jacobian":
        return xd.jacobian(
            func, x, case["method"], side=case["side"], method_args=case["method_args"] or None
        )
    if kind == "genD":
        return xd.genD(func, x, case["method"], method_args=case["method_args"] or None).D
    return xd.hessian(func, x, case["method"], method_args=case["method_args"] or None)


#: exact D where numDeriv's own result is rounding noise beyond 1e-8: genD at zero with
#: numDeriv's d = 1e-4 divides rounding errors of f by h**2 = 1e-8 (about 1e-6 in D);
#: xpdiff folds the Richardson table into weights, which rounds differently
EXACT_WHERE_NOISY = {"genD expcos2 at zero": [[1.0, 0.0, 1.0, 0.0, -1.0]]}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_numderiv(backend, case):
    x = np.array(case["x"], dtype=np.float64)
    func = CountingFunc(make(case["func"], backend.xp))
    result = run(case["kind"], func, backend.asarray(x), case)
    expected = np.array(case["result"])
    values = backend.check(result, dtype=np.float64, shape=expected.shape)
    error = np.linalg.norm(values - expected) / np.linalg.norm(expected)
    if case["name"] in EXACT_WHERE_NOISY:
        # as accurate as numDeriv, whose error here is rounding noise
        exact = np.array(EXACT_WHERE_NOISY[case["name"]])
        numderiv_error = np.linalg.norm(expected - exact)
        assert np.linalg.norm(values - exact) < 2 * numderiv_error
        assert error < 1e-5
    else:
        assert error < 1e-8, error
    # x, then the points; hessian's complex step also takes func at its real base points
    complex_hessian = case["kind"] == "hessian" and case["method"] == "complex"
    assert func.calls == (3 if complex_hessian else 2)


# --- jacobian -------------------------------------------------------------------------


def test_jacobian_never_elementwise(backend):
    x = np.array([0.5, -1.0, 2.0])
    J = xd.jacobian(lambda p: 2 * p + p**2, backend.asarray(x))
    values = backend.check(J, dtype=np.float64, shape=(3, 3))
    np.testing.assert_allclose(values, np.diag(2 + 2 * x), atol=1e-9)


def test_jacobian_of_scalar_function_is_one_row(backend):
    x = np.array([0.3, 0.7])
    J = xd.jacobian(make("gauss", backend.xp), backend.asarray(x))
    values = backend.check(J, dtype=np.float64, shape=(1, 2))
    # the same numbers as grad (up to the backend's own exp, compared with NumPy's)
    np.testing.assert_allclose(values[0], xd.grad(make("gauss", np), x), rtol=1e-9)


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
def test_jacobian_batch_of_points(backend, method):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 2, 4))
    func = CountingFunc(make("vec_m2n3", backend.xp))
    J = xd.jacobian(func, backend.asarray(x), method)
    values = backend.check(J, dtype=np.float64, shape=(2, 3, 2, 4))
    assert func.calls == 2
    for a in range(2):
        for b in range(4):
            single = xd.jacobian(make("vec_m2n3", np), x[:, a, b], method)
            np.testing.assert_allclose(values[:, :, a, b], single, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("n", [1, 2, 50])
@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
def test_jacobian_two_calls(n, method):
    func = CountingFunc(lambda x: np.stack([np.sum(np.sin(x), axis=0), x[0] * x[-1]]))
    J = xd.jacobian(func, np.linspace(0.1, 1, n), method)
    assert J.shape == (2, n)
    assert func.calls == 2


def test_jacobian_full_output_and_side():
    x = np.array([0.5, 1.5, -0.7])
    func = make("vec_m2n3", np)
    J, info = xd.jacobian(func, x, full_output=True)
    assert info.error.shape == (2, 3)
    assert info.ncalls == 2
    assert info.nfev == 1 + 2 * 4 * 3
    exact = np.array([[x[1] * x[2], x[0] * x[2], x[0] * x[1]], [np.cos(x[0]), 2 * x[1], 0]])
    Js = xd.jacobian(func, x, side=[1, -1, None])
    np.testing.assert_allclose(Js, exact, atol=1e-9)
    np.testing.assert_allclose(J, exact, atol=1e-9)


# --- genD ------------------------------------------------------------------------------


def test_genD_layout_and_counts():
    def func(x):
        return np.stack([x[0] ** 2 * x[1] + np.sin(x[2]), np.exp(x[0]) * x[2] ** 2])

    x = np.array([0.7, -1.3, 0.4])
    counted = CountingFunc(func)
    result = xd.genD(counted, x, method_args={"d": 0.01})
    n, r = 3, 4
    assert counted.calls == 2
    assert result.nfev == 1 + r * (n * n + n)
    assert result.D.shape == (2, n * (n + 3) // 2)
    assert result.p == n
    assert result.method == "Richardson"
    np.testing.assert_allclose(result.f0, func(x))
    a, b, c = x
    expected = np.array([
        # d/dx0, d/dx1, d/dx2, (0,0), (1,0), (1,1), (2,0), (2,1), (2,2)
        [2 * a * b, a**2, np.cos(c), 2 * b, 2 * a, 0, 0, 0, -np.sin(c)],
        [np.exp(a) * c**2, 0, 2 * np.exp(a) * c, np.exp(a) * c**2, 0, 0, 2 * np.exp(a) * c,
         0, 2 * np.exp(a)],
    ])  # fmt: skip
    np.testing.assert_allclose(result.D, expected, atol=1e-8)


@pytest.mark.parametrize("max_batch", [1, 9, 50, 1000])
def test_genD_max_batch(max_batch):
    x = np.array([0.7, -1.3, 0.4])
    func = CountingFunc(make("cubic3", np))
    full = xd.genD(make("cubic3", np), x, method_args={"d": 0.01}).D
    D = xd.genD(func, x, method_args={"d": 0.01}, max_batch=max_batch).D
    points = 4 * (9 + 3)
    assert func.calls == 1 + math.ceil(points / max_batch)
    np.testing.assert_allclose(D, full, rtol=1e-9, atol=1e-9)


def test_genD_v_other_than_2(backend):
    """numDeriv stops for v != 2; xpdiff extrapolates with the factors that fit v."""
    x = np.array([0.3, 1.0])
    D = xd.genD(make("expcos2", backend.xp), backend.asarray(x), method_args={"v": 3, "d": 0.05}).D
    values = backend.check(D, dtype=np.float64, shape=(1, 5))[0]
    a, b = x
    exact = [
        np.exp(a) * np.cos(b) + b**2,
        -np.exp(a) * np.sin(b) + 2 * a * b,
        np.exp(a) * np.cos(b),
        -np.exp(a) * np.sin(b) + 2 * b,
        -np.exp(a) * np.cos(b) + 2 * a,
    ]
    np.testing.assert_allclose(values, exact, atol=1e-9)


def test_genD_batch_of_points(backend):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 3))
    func = CountingFunc(make("vec_m2n2", backend.xp))
    result = xd.genD(func, backend.asarray(x), method_args={"d": 0.01})
    values = backend.check(result.D, dtype=np.float64, shape=(2, 5, 3))
    assert func.calls == 2
    for b in range(3):
        single = xd.genD(make("vec_m2n2", np), x[:, b], method_args={"d": 0.01}).D
        # second differences with h = 0.01 |x| amplify last-bit differences of exp
        np.testing.assert_allclose(values[..., b], single, rtol=1e-6, atol=1e-6)


def test_genD_only_richardson():
    message = r"method not implemented\. genD's method must be one of 'Richardson'"
    with pytest.raises(ValueError, match=message):
        xd.genD(make("cubic3", np), [1.0, 2.0, 3.0], method="simple")


# --- hessian -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_hessian_symmetric_and_exact(backend, method):
    x = np.array([0.8, -1.2, 1.5, 0.9])
    H = xd.hessian(make("gauss", backend.xp), backend.asarray(x), method)
    values = backend.check(H, dtype=np.float64, shape=(4, 4))
    g = np.exp(-np.sum(x**2) / 2)
    exact = g * (np.outer(x, x) - np.eye(4))
    np.testing.assert_allclose(values, exact, atol=1e-8)
    if method == "Richardson":
        np.testing.assert_array_equal(values, values.T)


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_hessian_calls_and_points(method):
    n = 6
    func = CountingFunc(make("cubic3", np))
    xd.hessian(func, np.linspace(0.5, 1.5, n), method)
    points = 4 * (n * n + n) if method == "Richardson" else 2 * 4 * n * n
    # the complex step takes func at its 2 r n real base points first (NaN where not finite)
    assert func.calls == (2 if method == "Richardson" else 3)
    if method == "complex":
        assert func.shapes[1] == (n, 2 * 4 * n)
    # the batch ends with an unperturbed copy of x and a sentinel: func must not mix
    # points
    assert func.shapes[-1] == (n, points + 2)


def test_hessian_batch_of_points(backend):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (3, 2, 2))
    H = xd.hessian(make("cubic3", backend.xp), backend.asarray(x))
    values = backend.check(H, dtype=np.float64, shape=(3, 3, 2, 2))
    for a in range(2):
        for b in range(2):
            p = x[:, a, b]
            exact = np.diag(6 * p) + np.array([[0, p[2], p[1]], [p[2], 0, p[0]], [p[1], p[0], 0]])
            np.testing.assert_allclose(values[:, :, a, b], exact, atol=1e-7)


def test_hessian_errors():
    with pytest.raises(ValueError, match=r"^Richardson method for hessian assumes a scalar"):
        xd.hessian(make("vec_m2n2", np), [1.0, 2.0])
    for method in ("complex", "adaptive"):  # each method's own name, not "Richardson"
        with pytest.raises(ValueError, match=rf"^{method} method for hessian assumes a scalar"):
            xd.hessian(make("vec_m2n2", np), [1.0, 2.0], method)
    message = r"method not implemented\. hessian's method must be one of 'Richardson', 'complex'"
    with pytest.raises(ValueError, match=message):
        xd.hessian(make("cubic3", np), [1.0, 2.0, 3.0], method="simple")
    with pytest.raises(ValueError, match="method must be one of"):
        xd.hessian(make("cubic3", np), [1.0, 2.0, 3.0], method="newton")


def test_hessian_float32(backend):
    x = np.array([0.8, -1.2, 1.5], dtype=np.float32)
    H = xd.hessian(make("cubic3", backend.xp), backend.asarray(x))
    values = backend.check(H, dtype=np.float32, shape=(3, 3))
    p = x.astype(np.float64)
    exact = np.diag(6 * p) + np.array([[0, p[2], p[1]], [p[2], 0, p[0]], [p[1], p[0], 0]])
    np.testing.assert_allclose(values, exact, atol=2e-3 * np.max(np.abs(exact)))


# --- an equality-constrained problem with scipy.optimize -----------------------------------


def test_trust_constr_with_xpdiff_derivatives():
    optimize = pytest.importorskip("scipy.optimize")

    def objective(x):
        return x[0] + x[1] + (x[2] - 1) ** 2

    def circle(x):
        return np.stack([x[0] ** 2 + x[1] ** 2 - 2])

    constraint = optimize.NonlinearConstraint(
        lambda x: circle(x),
        0.0,
        0.0,
        jac=lambda x: xd.jacobian(circle, x),
        hess=lambda x, v: v[0] * xd.hessian(lambda p: circle(p)[0], x),
    )
    result = optimize.minimize(
        objective,
        np.array([0.5, -1.5, 0.0]),
        method="trust-constr",
        jac=lambda x: xd.grad(objective, x),
        hess=lambda x: xd.hessian(objective, x),
        constraints=[constraint],
        options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 500},
    )
    np.testing.assert_allclose(result.x, [-1.0, -1.0, 1.0], atol=1e-6)
    assert result.fun == pytest.approx(-2.0, abs=1e-8)


def test_full_output(backend):
    x = np.array([0.8, -1.2, 1.5])
    func = make("cubic3", backend.xp)
    H, info = xd.hessian(func, backend.asarray(x), full_output=True)
    backend.check(H, dtype=np.float64, shape=(3, 3))
    error = backend.check(info.error, dtype=np.float64, shape=(3, 3))
    assert np.all(np.isfinite(error))
    np.testing.assert_array_equal(error, error.T)
    assert info.ncalls == 2
    assert info.nfev == 1 + 4 * (9 + 3)
    backend.check(info.steps, dtype=np.float64, shape=(4, 3))
    Hc, info_c = xd.hessian(func, backend.asarray(x), "complex", full_output=True)
    np.testing.assert_allclose(backend.to_numpy(Hc), backend.to_numpy(H), atol=1e-6)
    assert info_c.nfev == 1 + 2 * 4 * 3 + 2 * 4 * 9  # x, the real base points, complex ones
    assert info_c.ncalls == 3
    backend.check(info_c.error, dtype=np.float64, shape=(3, 3))
    result, info_d = xd.genD(func, backend.asarray(x), full_output=True)
    backend.check(info_d.error, dtype=np.float64, shape=(1, 9))
    assert info_d.nfev == result.nfev
    np.testing.assert_array_equal(
        backend.to_numpy(xd.hessian(func, backend.asarray(x))), backend.to_numpy(H)
    )


@pytest.mark.parametrize("max_batch", [None, 3])
def test_complex_hessian_is_nan_where_its_points_leave_the_domain(backend, max_batch):
    """sqrt(1 - x0) at 0.91 to 0.99: the outer Richardson points cross 1, where complex
    arithmetic gives finite values and the complex-step gradient about 1e15 (H00 was
    2.8e11 to -7.8e15 where Richardson gives NaN); within the domain, the same numbers."""
    xp = backend.xp

    def f(p):
        return xp.sqrt(1 - p[0, ...]) + p[1, ...]

    with np.errstate(invalid="ignore"):
        for x0 in (0.91, 0.95, 0.99):
            x = backend.asarray(np.array([x0, 2.0]))
            H = backend.check(
                xd.hessian(f, x, "complex", max_batch=max_batch), dtype=np.float64, shape=(2, 2)
            )
            richardson = backend.to_numpy(xd.hessian(f, x))
            assert np.isnan(H[0, 0])
            assert np.isnan(richardson[0, 0])
        x = backend.asarray(np.array([0.5, 2.0]))
        H = backend.check(
            xd.hessian(f, x, "complex", max_batch=max_batch), dtype=np.float64, shape=(2, 2)
        )
    np.testing.assert_allclose(H, [[-0.25 * 0.5**-1.5, 0.0], [0.0, 0.0]], atol=1e-9)
