"""Function mode on CuPy: numDeriv's numbers, float32 and float64, results on the GPU.

The same fixtures as tests/test_grad.py and tests/test_second.py (made with R's
numDeriv by tests/reference/make_numderiv_fixtures.R), with the functions
written for CuPy, and x given as a CuPy array.
"""

from __future__ import annotations

import json
from pathlib import Path

import array_api_compat
import numpy as np
import pytest
from helpers import on_gpu
from reference_functions import exact_gradient, make

import xpdiff as xd

FIXTURES = json.loads(
    (Path(__file__).parents[1] / "tests" / "reference" / "numderiv_grad.json").read_text()
)
GRAD = [c for c in FIXTURES["grad"] if "numDeriv inexact" not in c["name"]]
SECOND = FIXTURES["second"]
#: as in tests/test_second.py: numDeriv's own value here is rounding noise beyond 1e-8
NOISY = {"genD expcos2 at zero"}


class Counting:
    """func, counting its calls; every call must receive a CuPy array on the device."""

    def __init__(self, cp, func, device):
        self.cp, self.func, self.device, self.calls = cp, func, device, 0

    def __call__(self, x):
        assert isinstance(x, self.cp.ndarray), type(x)
        assert x.device == self.device
        self.calls += 1
        return self.func(x)


@pytest.mark.parametrize("case", GRAD, ids=[c["name"] for c in GRAD])
def test_grad_matches_numderiv(cp, case):
    x = cp.asarray(np.array(case["x"], dtype=np.float64))
    func = Counting(cp, make(case["func"], array_api_compat.array_namespace(x)), x.device)
    g = xd.grad(
        func, x, case["method"], side=case["side"], method_args=case["method_args"] or None
    )
    values = on_gpu(cp, g, x, np.float64, x.shape)
    expected = np.asarray(case["result"])
    assert np.linalg.norm(values - expected) / np.linalg.norm(expected) < 1e-8
    assert func.calls == 2


@pytest.mark.parametrize("case", SECOND, ids=[c["name"] for c in SECOND])
def test_jacobian_hessian_genD_match_numderiv(cp, case):
    x = cp.asarray(np.array(case["x"], dtype=np.float64))
    func = Counting(cp, make(case["func"], array_api_compat.array_namespace(x)), x.device)
    kwargs = {"method_args": case["method_args"] or None}
    if case["kind"] == "jacobian":
        result = xd.jacobian(func, x, case["method"], side=case["side"], **kwargs)
    elif case["kind"] == "genD":
        result = xd.genD(func, x, case["method"], **kwargs).D
    else:
        result = xd.hessian(func, x, case["method"], **kwargs)
    expected = np.asarray(case["result"])
    values = on_gpu(cp, result, x, np.float64, expected.shape)
    error = np.linalg.norm(values - expected) / np.linalg.norm(expected)
    assert error < (1e-5 if case["name"] in NOISY else 1e-8), error
    # the complex Hessian also takes func at the real points of its gradients: 3 calls
    complex_hessian = case["kind"] == "hessian" and case["method"] == "complex"
    assert func.calls == (3 if complex_hessian else 2)


@pytest.mark.parametrize(
    ("method", "tol"), [("Richardson", 3e-4), ("simple", 2e-3), ("complex", 1e-6)]
)
@pytest.mark.parametrize("name", ["sc2", "exp_cos", "gauss", "cubic_mix"])
def test_grad_float32(cp, name, method, tol):
    """float32 on the GPU: the accuracy docs/numderiv.md states for float32."""
    x64 = np.linspace(0.2, 1.4, 5)
    x = cp.asarray(x64.astype(np.float32))
    func = make(name, array_api_compat.array_namespace(x))
    g = xd.grad(func, x, method)
    values = on_gpu(cp, g, x, np.float32, x.shape)
    exact = exact_gradient(name, x64.astype(np.float32).astype(np.float64))
    assert np.max(np.abs(values - exact) / (1 + np.abs(exact))) < tol


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_hessian_float32(cp, method):
    x64 = np.array([0.3, -0.5, 0.8])
    x = cp.asarray(x64.astype(np.float32))
    # p * p * p: CuPy's complex p**3 goes through exp and log (test_complex_power_is_nan)
    H = xd.hessian(lambda p: cp.sum(p * p * p, axis=0) + p[0] * p[1], x, method)
    values = on_gpu(cp, H, x, np.float32, (3, 3))
    exact = np.diag(6 * x64.astype(np.float32).astype(np.float64))
    exact[0, 1] = exact[1, 0] = 1.0
    np.testing.assert_allclose(values, exact, atol=5e-3)


def test_batch_of_points_and_workers(cp):
    """x of shape (n, m): m gradients in the same two calls; max_batch splits, same bits."""
    x = cp.asarray(np.random.default_rng(0).uniform(-1, 1, (4, 7)))
    func = make("exp_cos", array_api_compat.array_namespace(x))
    g = xd.grad(func, x)
    values = on_gpu(cp, g, x, np.float64, (4, 7))
    np.testing.assert_allclose(values, exact_gradient("exp_cos", cp.asnumpy(x)), rtol=1e-9)
    split = xd.grad(func, x, max_batch=5)
    assert bool(cp.all(split == g))


def test_caller_array_untouched_and_never_passed(cp):
    x = cp.asarray([0.5, 1.5, -0.7])
    before = x.copy()
    seen = []

    def func(p):
        seen.append(p)
        p *= 2  # a func that writes into its argument must not reach the caller's data
        return cp.sum(p**2, axis=0)

    xd.grad(func, x)
    assert all(p is not x for p in seen)
    assert bool(cp.all(x == before))


def test_nan_stays_nan(cp):
    x = cp.asarray([1.0, 2.0, 3.0])
    for method in ("Richardson", "simple", "complex"):
        g = xd.grad(lambda p: p[0] * float("nan") + p[1] + p[2], x, method)
        assert bool(cp.isnan(g[0])), method


def test_sparse_jacobian_on_the_gpu(cp):
    """A cupyx CSR pattern gives a cupyx CSR Jacobian; a CuPy boolean one a CuPy array."""
    import cupyx.scipy.sparse as cusparse
    import scipy.sparse as sp

    n = 50
    x = cp.full(n, -1.0)

    def broyden(p):
        r = (3 - 2 * p) * p + 1
        r[1:] -= p[:-1]
        r[:-1] -= 2 * p[1:]
        return r

    host = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n), format="csr")
    exact = sp.diags([-np.ones(n - 1), 3 + 4 * np.ones(n), -2 * np.ones(n - 1)], [-1, 0, 1])
    J = xd.jacobian(broyden, x, sparsity=cusparse.csr_matrix(host))
    assert isinstance(J, cusparse.csr_matrix)
    assert isinstance(J.data, cp.ndarray)
    np.testing.assert_allclose(J.get().toarray(), exact.toarray(), atol=1e-8)
    D = xd.jacobian(broyden, x, sparsity=cp.asarray(host.toarray() != 0))
    assert isinstance(D, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(D), exact.toarray(), atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_complex_power_is_nan(cp, dtype):
    """CuPy computes a complex power through exp and log: at the real point x, ``p**3``
    gets an imaginary part of rounding size (4.6e-17 in complex128 for this func), as
    large as the complex step's signal h f' with h = eps. The check of the batch's copy
    of x sees it, and the derivative is NaN (off the host: no wrong number, no read);
    NumPy's integer power is exact and the same func is differentiated there."""
    x64 = np.array([0.3, -0.5, 0.8])
    x = cp.asarray(x64.astype(dtype))
    copy = cp.sum(x.astype(cp.complex128 if dtype == np.float64 else cp.complex64) ** 3)
    assert float(copy.imag) != 0  # the premise, as seen on an H200 (CuPy 14.2)
    g = xd.grad(lambda p: cp.sum(p**3, axis=0) + p[0] * p[1], x, "complex")
    assert np.all(np.isnan(on_gpu(cp, g, x, dtype, (3,))))
    exact = 3 * x64**2 + np.array([x64[1], x64[0], 0.0])
    g = xd.grad(lambda p: cp.sum(p * p * p, axis=0) + p[0] * p[1], x, "complex")
    np.testing.assert_allclose(on_gpu(cp, g, x, dtype, (3,)), exact, rtol=1e-5)
