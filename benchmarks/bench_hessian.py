"""xd.hessian against numDeriv, numdifftools and scipy.differentiate, side by side.

Run: ``python benchmarks/bench_hessian.py [--repeat N] [--sizes 5 20 50]``

For numDeriv's ``sc2`` (diagonal Hessian) and a Gaussian bump
``exp(-|x|^2 / 2)`` (dense Hessian) at n = 5, 20, 50: best-of-N wall time and
error max|H - exact| / (1 + max|exact|) of

- xd.hessian, Richardson (numDeriv's defaults, d = 0.1) and complex;
- numDeriv's hessian through Rscript, where R and numDeriv are installed
  (timed inside R over batches of calls of at least 0.2 s, so neither R's
  start-up nor its millisecond clock counts);
- numdifftools.Hessian and scipy.differentiate.hessian, where installed.

"xd faster" divides a tool's time by xd.hessian Richardson's.
"""

from __future__ import annotations

import argparse
import importlib.util
from functools import partial

import numpy as np
from numderiv_r import numderiv_times
from timing import best

import xpdiff as xd


def sc2(x):
    n = x.shape[0]
    w = np.arange(1, n + 1, dtype=np.float64).reshape((n,) + (1,) * (x.ndim - 1))
    return np.sum(w * (np.exp(x) - x), axis=0) / n


def sc2_hessian(x):
    n = x.shape[0]
    return np.diag(np.arange(1, n + 1) * np.exp(x) / n)


def gauss(x):
    return np.exp(-np.sum(x * x, axis=0) / 2)


def gauss_hessian(x):
    return gauss(x) * (np.outer(x, x) - np.eye(x.shape[0]))


FUNCTIONS = [("sc2", sc2, sc2_hessian), ("gauss", gauss, gauss_hessian)]


def error(H, exact):
    return float(np.max(np.abs(np.asarray(H) - exact)) / (1 + np.max(np.abs(exact))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20, 50])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    points = {(name, n): rng.uniform(-0.3, 0.3, n) for name, _, _ in FUNCTIONS for n in args.sizes}
    r_results = numderiv_times(
        "hessian", [(name, x) for (name, _), x in points.items()], args.repeat
    )
    r_iter = iter(r_results) if r_results is not None else None
    have_ndt = importlib.util.find_spec("numdifftools") is not None
    have_scipy = importlib.util.find_spec("scipy") is not None
    if have_ndt:
        import numdifftools as ndt
    if have_scipy:
        from scipy import differentiate

    print(f"{'function':<9} {'n':>3}  {'method':<30} {'ms':>10} {'xd faster':>10} {'error':>9}")
    print("-" * 78)
    for name, func, exact_hessian in FUNCTIONS:
        for n in args.sizes:
            x = points[(name, n)]
            exact = exact_hessian(x)
            rows = []
            t_r, H = best(partial(xd.hessian, func, x), args.repeat)
            rows.append(("xd.hessian Richardson", t_r, None, error(H, exact)))
            t, H = best(partial(xd.hessian, func, x, "complex"), args.repeat)
            rows.append(("xd.hessian complex", t, t / t_r, error(H, exact)))
            if r_iter is not None:
                t, H = next(r_iter)
                rows.append(("numDeriv hessian (R)", t, t / t_r, error(H, exact)))
            if have_ndt:
                hess = ndt.Hessian(func)
                t, H = best(partial(hess, x), max(1, args.repeat // 2))
                rows.append(("numdifftools.Hessian", t, t / t_r, error(H, exact)))
            if have_scipy:
                t, res = best(partial(differentiate.hessian, func, x), args.repeat)
                rows.append(("scipy.differentiate.hessian", t, t / t_r, error(res.ddf, exact)))
            for label, t, faster, err in rows:
                fa = f"{faster:10.1f}" if faster is not None else " " * 10
                print(f"{name:<9} {n:>3}  {label:<30} {t * 1e3:10.3f} {fa} {err:9.1e}")
            print()
    if r_results is None:
        print("numDeriv: not run (no Rscript with numDeriv here)")


if __name__ == "__main__":
    main()
