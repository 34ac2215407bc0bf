"""Ipopt and scipy.optimize fed by xpdiff's derivatives, as users run them.

Hock-Schittkowski problem 40 (the seed problem of this project) with
cyipopt's ``minimize_ipopt`` and ``Problem`` interfaces and with scipy's
SLSQP and trust-constr; and a discretized optimal-control problem with n =
1201 variables and m = 601 constraints, whose constraint Jacobian is sparse
(``benchmarks/bench_ipopt.py``). cyipopt comes from the ``cyipopt-wheels``
wheel, which bundles Ipopt; CI installs it and requires it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize as so
from helpers import require

import xpdiff as xd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_ipopt import Control, solve

sys.path.pop(0)

#: Hock and Schittkowski (1981), problem 40: its solution
X_STAR = np.array([2 ** (-1 / 3), 2 ** (-1 / 2), 2 ** (-11 / 12), 2 ** (-1 / 4)])
X0 = np.full(4, 0.8)


def hs40_objective(x):
    return -x[0] * x[1] * x[2] * x[3]


def hs40_constraints(x):
    return np.stack([x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2], x[3] ** 2 - x[1]])


def hs40_gradient(x):
    return xd.grad(hs40_objective, x)


def hs40_jacobian(x):
    return xd.jacobian(hs40_constraints, x)


def test_hs40_minimize_ipopt():
    cyipopt = require("cyipopt")
    res = cyipopt.minimize_ipopt(
        hs40_objective,
        X0,
        jac=hs40_gradient,
        constraints=[{"type": "eq", "fun": hs40_constraints, "jac": hs40_jacobian}],
        options={"tol": 1e-12, "print_level": 0, "sb": "yes"},
    )
    assert res.success
    np.testing.assert_allclose(res.x, X_STAR, rtol=0, atol=1e-8)


def test_hs40_problem_interface():
    cyipopt = require("cyipopt")

    class HS40:
        def objective(self, x):
            return float(hs40_objective(x))

        def gradient(self, x):
            return hs40_gradient(x)

        def constraints(self, x):
            return hs40_constraints(x)

        def jacobianstructure(self):
            return np.nonzero(np.ones((3, 4)))

        def jacobian(self, x):
            return hs40_jacobian(x).ravel()

    nlp = cyipopt.Problem(n=4, m=3, problem_obj=HS40(), cl=np.zeros(3), cu=np.zeros(3))
    for name, value in (("tol", 1e-12), ("print_level", 0), ("sb", "yes")):
        nlp.add_option(name, value)
    nlp.add_option("hessian_approximation", "limited-memory")
    x, info = nlp.solve(X0)
    assert info["status"] == 0
    np.testing.assert_allclose(x, X_STAR, rtol=0, atol=1e-8)


@pytest.mark.parametrize("method", ["SLSQP", "trust-constr"])
def test_hs40_scipy(method):
    if method == "SLSQP":
        constraint = {"type": "eq", "fun": hs40_constraints, "jac": hs40_jacobian}
        options = {"ftol": 1e-14, "maxiter": 200}
    else:
        constraint = so.NonlinearConstraint(
            hs40_constraints, 0, 0, jac=hs40_jacobian, hess=so.BFGS()
        )
        options = {"gtol": 1e-12, "xtol": 1e-14, "maxiter": 2000}
    res = so.minimize(
        hs40_objective,
        X0,
        jac=hs40_gradient,
        constraints=[constraint],
        method=method,
        options=options,
    )
    assert res.success
    np.testing.assert_allclose(res.x, X_STAR, rtol=0, atol=1e-8)


@pytest.mark.parametrize("hessian", [False, True], ids=["L-BFGS", "exact Hessian"])
def test_large_sparse_control_problem(hessian):
    require("cyipopt")
    reference, info, _ = solve(Control(600, "analytic", True), lbfgs=False)
    assert info["status"] == 0
    problem = Control(600, "xpdiff", hessian)
    assert (problem.n, problem.m) == (1201, 601)
    z, info, _ = solve(problem, lbfgs=not hessian)
    assert info["status"] == 0
    np.testing.assert_allclose(z, reference, rtol=0, atol=1e-7)
    assert abs(info["obj_val"] - 0.6534807907) < 1e-9
    assert problem.iterations <= 12


def test_sparse_gradient_of_a_sum_of_terms():
    """The large problem's gradient trick: column sums of the terms' sparse Jacobian."""
    problem = Control(50, "xpdiff")
    z = np.random.default_rng(0).uniform(-1, 1, problem.n)
    reference = Control(50, "analytic")
    np.testing.assert_allclose(problem.gradient(z), reference.gradient(z), rtol=1e-10)
    np.testing.assert_allclose(problem.jacobian(z), reference.jacobian(z), rtol=0, atol=1e-8)
    lagrange = np.random.default_rng(1).uniform(-1, 1, problem.m)
    np.testing.assert_allclose(
        Control(50, "xpdiff", True).hessian(z, lagrange, 0.7),
        reference.hessian(z, lagrange, 0.7),
        rtol=1e-6,
    )
