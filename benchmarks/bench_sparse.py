"""Sparse Jacobians: xpdiff against scipy's approx_derivative(sparsity=...), side by side.

Run: ``python benchmarks/bench_sparse.py [--repeat N] [--quick]``

Two problems of More, Garbow and Hillstrom (1981), "Testing unconstrained
optimization software", ACM TOMS 7(1), 17-41:

- the Broyden tridiagonal function (problem 30), ``f_i = (3 - 2 x_i) x_i -
  x_{i-1} - 2 x_{i+1} + 1``, n = 2000, at its standard starting point (-1, ...)
  and at random points in [-1, 1], where numDeriv's steps ``1e-4 |x_i|`` are
  tiny for small ``|x_i|``;
- the Broyden banded function (problem 31) with two neighbours on each side
  (bandwidth 5), ``f_i = x_i (2 + 5 x_i^2) + 1 - sum_{0<|j-i|<=2} x_j (1 +
  x_j)``, n = 100,000.

For each: the largest error against the exact Jacobian, the calls of the
function, the points evaluated (x included) against ``2 r groups + 1``, the
best-of-N time, and for the large one the peak of traced memory (tracemalloc)
against the memory budget. scipy's approx_derivative uses its default
2-point differences and, for the accuracy comparison, 3-point ones.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative  # what least_squares uses

import xpdiff as xd


class Counted:
    def __init__(self, f):
        self.f, self.calls, self.points = f, 0, 0

    def __call__(self, x):
        self.calls += 1
        self.points += 1 if x.ndim == 1 else int(np.prod(x.shape[1:]))
        return self.f(x)


def broyden_tridiagonal(x):
    f = (3 - 2 * x) * x + 1
    f[1:] -= x[:-1]
    f[:-1] -= 2 * x[1:]
    return f


def broyden_tridiagonal_jacobian(x):
    n = x.shape[0]
    return sp.diags([-np.ones(n - 1), 3 - 4 * x, -2 * np.ones(n - 1)], [-1, 0, 1], format="csr")


def broyden_banded(x, width: int = 2):
    f = x * (2 + 5 * x**2) + 1
    g = x * (1 + x)
    for k in range(1, width + 1):
        f[k:] -= g[:-k]
        f[:-k] -= g[k:]
    return f


def broyden_banded_jacobian(x, width: int = 2):
    off = -(1 + 2 * x)
    diagonals = [2 + 15 * x**2]
    offsets = [0]
    for k in range(1, width + 1):
        diagonals += [off[:-k], off[k:]]
        offsets += [-k, k]
    return sp.diags(diagonals, offsets, format="csr")


def band_pattern(n: int, width: int):
    return sp.diags(
        [np.ones(n - abs(k)) for k in range(-width, width + 1)],
        list(range(-width, width + 1)),
        format="csr",
    )


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def error(J, exact) -> float:
    return float(abs(J - exact).max())


def tridiagonal(repeat: int, n: int, x: np.ndarray, where: str) -> None:
    exact = broyden_tridiagonal_jacobian(x)
    S = band_pattern(n, 1)
    print(f"\nBroyden tridiagonal, n={n} (3 groups), at {where}, best of {repeat}:")
    print(f"  {'':38s} {'max error':>10s} {'calls':>6s} {'points':>7s} {'time':>9s}")
    groups = int(xd._sparse.pattern_of(S, (n, n)).count)
    for method, r in (("Richardson", 4), ("simple", 1), ("complex", 1), ("adaptive", 4)):
        counted = Counted(broyden_tridiagonal)
        J = xd.jacobian(counted, x, method=method, sparsity=S)
        seconds, _ = best(
            lambda m=method: xd.jacobian(broyden_tridiagonal, x, m, sparsity=S), repeat
        )
        bound = {"Richardson": f"<= {2 * r * groups + 1}", "adaptive": ""}.get(method, "")
        print(
            f"  {'xd.jacobian ' + method:38s} {error(J, exact):10.1e} {counted.calls:6d} "
            f"{counted.points:7d} {seconds * 1e3:7.2f}ms {bound}"
        )
    for scheme in ("2-point", "3-point"):
        counted = Counted(broyden_tridiagonal)
        J = approx_derivative(counted, x, method=scheme, sparsity=S)
        seconds, _ = best(
            lambda s=scheme: approx_derivative(broyden_tridiagonal, x, method=s, sparsity=S),
            repeat,
        )
        print(
            f"  {'scipy approx_derivative ' + scheme:38s} {error(J, exact):10.1e} "
            f"{counted.calls:6d} {counted.points:7d} {seconds * 1e3:7.2f}ms"
        )
    xd_time, _ = best(lambda: xd.jacobian(broyden_tridiagonal, x, sparsity=S), repeat)
    scipy_time, _ = best(
        lambda: approx_derivative(broyden_tridiagonal, x, method="3-point", sparsity=S), repeat
    )
    print(f"  xd Richardson / scipy 3-point time: {xd_time / scipy_time:.2f}")


def banded(repeat: int, n: int) -> None:
    x = -np.ones(n)  # the problem's standard starting point
    exact = broyden_banded_jacobian(x)
    S = band_pattern(n, 2)
    pattern = xd._sparse.pattern_of(S, (n, n))
    groups = (S, pattern.groups)
    budget = xd.get_memory_budget()
    print(
        f"\nBroyden banded, n={n}, bandwidth 5 ({pattern.count} groups), at x0 = -1, "
        f"best of {repeat}:"
    )
    print(f"  {'':38s} {'max error':>10s} {'calls':>6s} {'time':>9s} {'peak':>9s}")
    cases = [
        ("xd Richardson, pattern", lambda: xd.jacobian(broyden_banded, x, sparsity=S)),
        ("xd Richardson, groups given", lambda: xd.jacobian(broyden_banded, x, sparsity=groups)),
        (
            "xd adaptive, groups given",
            lambda: xd.jacobian(broyden_banded, x, "adaptive", sparsity=groups),
        ),
        (
            "scipy approx_derivative 3-point",
            lambda: approx_derivative(broyden_banded, x, method="3-point", sparsity=S),
        ),
    ]
    for name, fn in cases:
        seconds, J = best(fn, repeat)
        counted = Counted(broyden_banded)
        tracemalloc.start()
        if name.startswith("xd"):
            method = "adaptive" if "adaptive" in name else "Richardson"
            sparsity = groups if "groups" in name else S
            xd.jacobian(counted, x, method, sparsity=sparsity)
        else:
            approx_derivative(counted, x, method="3-point", sparsity=S)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  {name:38s} {error(J, exact):10.1e} {counted.calls:6d} {seconds:8.3f}s "
            f"{peak / 2**20:7.0f}MiB"
        )
    print(f"  memory budget: {budget / 2**20:.0f} MiB")
    start = time.perf_counter()
    xd._sparse.pattern_of(S, (n, n))
    print(f"  grouping the columns alone: {time.perf_counter() - start:.3f}s")


def dense_row(repeat: int, sizes) -> None:
    """Tridiagonal plus one dense row: grouping time and the sparse Jacobian against the dense.

    The dense row forces one group per column (as many groups as the dense
    Jacobian has columns); grouping must stay near-linear in the entries.
    """
    print("\nTridiagonal + one dense row (n groups): seconds, best of N")
    print(f"  {'n':>6s} {'grouping':>9s} {'sparse J':>9s} {'dense J':>9s} {'sparse/dense':>12s}")
    for n in sizes:
        pattern = band_pattern(n, 1).tolil()
        pattern[n // 2, :] = True
        pattern = pattern.tocsr()
        x = np.linspace(-1.0, 1.0, n)

        f = _with_dense_row(n)
        t_group, _ = best(lambda p=pattern: xd.group_columns(p), repeat)
        t_sparse, _ = best(lambda f=f, x=x, p=pattern: xd.jacobian(f, x, sparsity=p), repeat)
        t_dense, _ = best(lambda f=f, x=x: xd.jacobian(f, x), repeat)
        print(f"  {n:6d} {t_group:9.4f} {t_sparse:9.3f} {t_dense:9.3f} {t_sparse / t_dense:12.2f}")


def _with_dense_row(n: int):
    def f(x):
        y = broyden_tridiagonal(x).copy()
        y[n // 2] += np.sum(x, axis=0)
        return y

    return f


def all_true(budget: int = 16 * 2**20) -> None:
    """An all-True 20000 x 50 pattern: peak traced memory of the sparse Jacobian vs budget."""
    m, n = 20_000, 50
    pattern = np.ones((m, n), dtype=bool)
    x = np.linspace(0.5, 1.5, n)

    def f(x):
        return np.sin(np.multiply.outer(np.arange(1, m + 1) * 1e-4, np.sum(x, axis=0)))

    start = time.perf_counter()
    groups = xd.group_columns(pattern)
    t_group = time.perf_counter() - start  # untraced: tracemalloc slows every allocation
    tracemalloc.start()
    with xd.memory_budget(budget):
        groups = xd.group_columns(pattern)
    _, peak_group = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    with xd.memory_budget(budget):
        xd.jacobian(f, x, sparsity=pattern)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\nAll-True {m} x {n} pattern ({groups.max() + 1} groups) under a "
        f"{budget / 2**20:.0f} MiB budget: group_columns {t_group:.3f} s, peak "
        f"{peak_group / 2**20:.1f} MiB; sparse Jacobian peak {peak / 2**20:.1f} MiB "
        f"(the pattern itself: {pattern.nbytes / 2**20:.1f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 2000
    tridiagonal(args.repeat, n, -np.ones(n), "the standard starting point x0 = -1")
    tridiagonal(args.repeat, n, np.random.default_rng(0).uniform(-1, 1, n), "x uniform in [-1, 1]")
    banded(args.repeat, 10_000 if args.quick else 100_000)
    dense_row(max(1, args.repeat // 2), (2000, 4000) if args.quick else (2000, 4000, 7000))
    all_true()


if __name__ == "__main__":
    main()
