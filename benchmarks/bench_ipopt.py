"""Ipopt fed by xpdiff: a discretized optimal-control problem with n = 1201, m = 601.

Run: ``python benchmarks/bench_ipopt.py [--steps N]`` (needs cyipopt:
``pip install cyipopt-wheels``). ``--hs040`` prints instead the accuracy of
HS040's gradient by ``scipy.optimize.approx_fprime`` and by xpdiff, and SLSQP
with SciPy's own finite differences and with xpdiff's (no Ipopt needed).

The problem (forward Euler on [0, 1] with N steps, h = 1/N)::

    minimize   h sum_k (y_k^2 + u_k^2) + y_N^2
    subject to y_0 = 1,   y_{k+1} = y_k + h (u_k - y_k^3),  k = 0 .. N-1

with variables ``z = (y_0 .. y_N, u_0 .. u_{N-1})``: n = 2N + 1 variables
and m = N + 1 equality constraints, each involving at most three variables.
Ipopt solves it four ways, to ``tol = 1e-10`` from z = 0:

- "analytic": hand-written gradient, constraint Jacobian and Hessian of the
  Lagrangian (the reference);
- "xpdiff, L-BFGS": the gradient as the column sums of the sparse Jacobian
  of the objective's terms (one per variable), the constraint Jacobian from
  ``xd.jacobian(..., sparsity=pattern)`` with Ipopt's ``jacobianstructure``
  from the same pattern, and Ipopt's limited-memory Hessian;
- "xpdiff, exact Hessian": the same, plus the Hessian of the Lagrangian from
  ``xd.hessian(..., "adaptive", sparsity=diagonal)``;
- "analytic, L-BFGS": the reference's derivatives with the limited-memory
  Hessian, for the iteration count.

Printed: Ipopt's status, iterations, objective, the largest difference from
the reference solution, the total time and the time spent in derivatives.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

import xpdiff as xd


class Control:
    """The problem for N steps, in cyipopt's ``problem_obj`` interface."""

    def __init__(self, steps: int = 600, derivatives: str = "xpdiff", hessian: bool = False):
        self.N = N = steps
        self.h = 1.0 / N
        self.n, self.m = 2 * N + 1, N + 1
        self.derivatives, self.exact_hessian = derivatives, hessian
        self.seconds = 0.0
        self.iterations = 0
        rows, cols = [0], [0]
        for k in range(N):
            rows += [k + 1] * 3
            cols += [k + 1, k, N + 1 + k]
        self.pattern = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(self.m, self.n))
        self.terms_pattern = sp.eye_array(self.n, format="csr")  # term i: variable i alone
        self.structure = self.pattern.nonzero()
        self.diagonal = sp.eye_array(self.n, format="csr")

    def intermediate(self, alg_mod, iter_count, *args):
        self.iterations = iter_count  # Ipopt's own count, reported after the solve
        return True

    # the functions, vectorized over trailing axes ------------------------------------------

    def split(self, z):
        return z[: self.N + 1], z[self.N + 1 :]

    def terms(self, z):
        y, u = self.split(z)
        return np.concatenate([self.h * y[:-1] ** 2, y[-1:] ** 2, self.h * u**2])

    def objective(self, z):
        return float(np.sum(self.terms(z)))

    def residuals(self, z):
        y, u = self.split(z)
        return np.concatenate([y[:1] - 1.0, y[1:] - y[:-1] - self.h * (u - y[:-1] ** 3)])

    def constraints(self, z):
        return self.residuals(z)

    # derivatives ----------------------------------------------------------------------------

    def gradient(self, z):
        start = time.perf_counter()
        if self.derivatives == "analytic":
            y, u = self.split(z)
            g = np.concatenate([2 * self.h * y[:-1], [2 * y[-1]], 2 * self.h * u])
        else:
            J = xd.jacobian(self.terms, z, sparsity=self.terms_pattern)
            g = np.asarray(J.sum(axis=0)).ravel()
        self.seconds += time.perf_counter() - start
        return g

    def jacobianstructure(self):
        return self.structure

    def jacobian(self, z):
        start = time.perf_counter()
        rows, cols = self.structure
        if self.derivatives == "analytic":
            y, _ = self.split(z)
            J = sp.lil_array((self.m, self.n))
            J[0, 0] = 1.0
            k = np.arange(self.N)
            J[k + 1, k + 1] = 1.0
            J[k + 1, k] = -1.0 + 3 * self.h * y[:-1] ** 2
            J[k + 1, self.N + 1 + k] = -self.h
            values = np.asarray(J.tocsr()[rows, cols]).ravel()
        else:
            J = xd.jacobian(self.residuals, z, sparsity=self.pattern)
            values = np.asarray(J[rows, cols]).ravel()
        self.seconds += time.perf_counter() - start
        return values

    def hessianstructure(self):
        index = np.arange(self.n)
        return index, index  # the Lagrangian's Hessian is diagonal

    def hessian(self, z, lagrange, obj_factor):
        start = time.perf_counter()
        if self.derivatives == "analytic":
            y, _ = self.split(z)
            d = np.full(self.n, 2 * self.h * obj_factor)
            d[self.N] = 2 * obj_factor
            d[: self.N] += 6 * self.h * y[:-1] * lagrange[1:]
        else:

            def lagrangian(p):
                shape = (-1,) + (1,) * (p.ndim - 1)
                residuals = self.residuals(p)
                return obj_factor * np.sum(self.terms(p), axis=0) + np.sum(
                    np.reshape(lagrange, shape) * residuals, axis=0
                )

            H = xd.hessian(lagrangian, z, "adaptive", sparsity=self.diagonal)
            d = H.diagonal()
        self.seconds += time.perf_counter() - start
        return d


def solve(problem: Control, lbfgs: bool, tol: float = 1e-10):
    """Ipopt on ``problem`` from z = 0: (z, info, seconds)."""
    import cyipopt

    nlp = cyipopt.Problem(
        n=problem.n,
        m=problem.m,
        problem_obj=problem,
        cl=np.zeros(problem.m),
        cu=np.zeros(problem.m),
    )
    if lbfgs:
        nlp.add_option("hessian_approximation", "limited-memory")
    nlp.add_option("tol", tol)
    nlp.add_option("print_level", 0)
    nlp.add_option("sb", "yes")
    start = time.perf_counter()
    z, info = nlp.solve(np.zeros(problem.n))
    return z, info, time.perf_counter() - start


def hs040_f(x):
    return -x[0] * x[1] * x[2] * x[3]


def hs040_c(x):
    return np.stack([x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2], x[3] ** 2 - x[1]])


def hs040_grad(x):
    return -np.array(
        [x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3], x[0] * x[1] * x[2]]
    )


def hs040() -> None:
    """HS040's gradient by approx_fprime and by xpdiff, and SLSQP with each."""
    import scipy.optimize as so

    x_star = 2.0 ** -np.array([1 / 3, 1 / 2, 11 / 12, 1 / 4])
    points = {"x0 = 0.8": np.full(4, 0.8), "x*": x_star}
    gradients = {
        "approx_fprime(x, f)": lambda x: so.approx_fprime(x, hs040_f),
        "xd.grad (Richardson)": lambda x: xd.grad(hs040_f, x),
        "xd.grad adaptive": lambda x: xd.grad(hs040_f, x, method="adaptive"),
        "xd.grad complex": lambda x: xd.grad(hs040_f, x, method="complex"),
    }
    print("HS040: largest relative error of the gradient of f")
    print(f"  {'gradient':24s}" + "".join(f"{p:>12s}" for p in points))
    for name, g in gradients.items():
        errors = [
            np.max(np.abs(g(x) - hs040_grad(x)) / np.abs(hs040_grad(x))) for x in points.values()
        ]
        print(f"  {name:24s}" + "".join(f"{e:12.1e}" for e in errors))
    print("SLSQP from x0 = 0.8, ftol=1e-14, constraint Jacobian from the same source:")
    print(f"  {'derivatives':24s} {'success':>8s} {'iter':>5s} {'nfev':>5s} {'max |x - x*|':>13s}")
    runs = {
        "SciPy's own (2-point)": (None, None),
        "xd.grad / xd.jacobian": (
            lambda x: xd.grad(hs040_f, x),
            lambda x: xd.jacobian(hs040_c, x),
        ),
    }
    for name, (jac, cjac) in runs.items():
        constraint = {"type": "eq", "fun": hs040_c}
        if cjac is not None:
            constraint["jac"] = cjac
        res = so.minimize(
            hs040_f, np.full(4, 0.8), jac=jac, method="SLSQP", constraints=constraint,
            options={"ftol": 1e-14, "maxiter": 200},
        )  # fmt: skip
        print(
            f"  {name:24s} {res.success!s:>8s} {res.nit:5d} {res.nfev:5d} "
            f"{np.max(np.abs(res.x - x_star)):13.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--hs040", action="store_true", help="HS040 with approx_fprime only")
    args = parser.parse_args()
    if args.hs040:
        hs040()
        return
    reference, info, seconds = solve(Control(args.steps, "analytic", True), lbfgs=False)
    n, m = 2 * args.steps + 1, args.steps + 1
    print(f"Ipopt, n={n} variables, m={m} constraints, tol=1e-10:")
    print(
        f"  {'derivatives':28s} {'status':>6s} {'iter':>5s} {'objective':>18s} "
        f"{'max |z - z_ref|':>15s} {'time':>8s} {'in derivatives':>15s}"
    )
    cases = [
        ("analytic (reference)", Control(args.steps, "analytic", True), False),
        ("analytic, L-BFGS", Control(args.steps, "analytic"), True),
        ("xpdiff, L-BFGS", Control(args.steps, "xpdiff"), True),
        ("xpdiff, exact Hessian", Control(args.steps, "xpdiff", True), False),
    ]
    for name, problem, lbfgs in cases:
        z, info, seconds = solve(problem, lbfgs)
        print(
            f"  {name:28s} {info['status']:6d} {problem.iterations:5d} "
            f"{info['obj_val']:18.12f} {np.max(np.abs(z - reference)):15.1e} "
            f"{seconds:7.2f}s {problem.seconds:14.2f}s"
        )


if __name__ == "__main__":
    main()
