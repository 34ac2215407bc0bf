"""xd.grad against the floor, a minimal implementation and other Python tools, side by side.

Run: ``python benchmarks/bench_grad.py [--repeat N] [--sizes 10 100 1000]``;
``--sweep [--plot docs/_static/bench_grad.png]`` times numDeriv's sc2 by n
(2 to 1000) against numDeriv's grad in R (where Rscript and numDeriv are
installed), numdifftools and scipy.differentiate instead, and draws it.

For each function and n: best-of-N wall time and error of

- xd.grad, Richardson (numDeriv's defaults) and complex step;
- the floor: one bare call of the function on the same batch of points that
  xd.grad evaluates (8n points for Richardson, n complex points for the
  complex step), already built;
- minimal: a hand-written batched NumPy implementation of the same points and
  formula — the call at x (which xd.grad makes to learn the output's shape,
  as numDeriv does), the steps, one call on the batch, the Richardson table
  (or ``Im f / h``) — with none of xd.grad's checks; "batch only" leaves the
  call at x out;
- numdifftools.Gradient, scipy.differentiate.jacobian and
  scipy.optimize.approx_fprime, where installed;
- with ``--max-batch N ...``, xd.grad Richardson in calls of at most N points
  each: on a CPU, calls whose points fit the cache can beat the floor's one
  call on a large batch.

error = max |g - exact| / (1 + |exact|). "x floor" divides a total time by the
floor of the same method, "x min" by the minimal implementation's; "xd
faster" divides a tool's time by xd.grad Richardson's.

On Linux the script runs itself again under fixed glibc malloc thresholds
(``compare_trees.ALLOCATOR``, whose docstring says why) unless
``--dynamic-malloc`` is given: with glibc's dynamic mmap threshold, sc2 at
n=100 (arrays of 0.6 MB) took 0.86 ms for xd.grad and 0.77 ms for the floor
in one run, where every large array was a fresh ``mmap`` whose pages fault
in on first write, and 0.28 and 0.14 ms with the threshold fixed: the
ratios measured the allocator's state, not the methods.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from functools import partial

import numpy as np
from compare_trees import ALLOCATOR
from numderiv_r import numderiv_times
from plotting import line_plot
from timing import best

import xpdiff as xd


def _weights(x):
    n = x.shape[0]
    return np.arange(1, n + 1, dtype=np.float64).reshape((n,) + (1,) * (x.ndim - 1))


def sc2(x):
    """numDeriv's documentation example."""
    return np.sum(_weights(x) * (np.exp(x) - x), axis=0) / x.shape[0]


def sc2_grad(x):
    return np.arange(1, x.shape[0] + 1) * (np.exp(x) - 1) / x.shape[0]


def quadratic(x):
    """Cheap: half the squared norm."""
    return 0.5 * np.sum(x * x, axis=0)


def quadratic_grad(x):
    return x


def expensive(x):
    """Expensive: several transcendental functions per coordinate."""
    return np.sum(np.exp(np.sin(x)) * np.log1p(x * x) + np.arctan(np.cosh(x / 4)), axis=0)


def expensive_grad(x):
    u = np.cosh(x / 4)
    return (
        np.exp(np.sin(x)) * np.cos(x) * np.log1p(x * x)
        + np.exp(np.sin(x)) * 2 * x / (1 + x * x)
        + np.sinh(x / 4) / 4 / (1 + u * u)
    )


FUNCTIONS = [
    ("sc2", sc2, sc2_grad),
    ("cheap", quadratic, quadratic_grad),
    ("expensive", expensive, expensive_grad),
]


def error(g, exact):
    return float(np.max(np.abs(np.asarray(g) - exact) / (1 + np.abs(exact))))


def richardson_batch(x):
    """The 8n points xd.grad evaluates with numDeriv's defaults (r=4)."""
    n = x.shape[0]
    h = np.abs(1e-4 * x) + 1e-4 * (np.abs(x) < np.sqrt(2.220446049250313e-16 / 7e-7))
    points = np.repeat(x[:, None], 8 * n, axis=1).reshape(n, 4, 2, n)
    for k in range(4):
        idx = np.arange(n)
        points[idx, k, 0, idx] += h / 2**k
        points[idx, k, 1, idx] -= h / 2**k
    return points.reshape(n, 8 * n)


def minimal_richardson(func, x, with_call_at_x=True):
    """numDeriv's Richardson gradient, batched, in as few NumPy operations as it takes."""
    if with_call_at_x:
        func(x)
    n = x.shape[0]
    h = np.abs(1e-4 * x) + 1e-4 * (np.abs(x) < np.sqrt(2.220446049250313e-16 / 7e-7))
    hk = h[None, :] / 2.0 ** np.arange(4)[:, None]  # (r, n)
    points = np.repeat(x[:, None], 8 * n, axis=1).reshape(n, 4, 2, n)
    idx = np.arange(n)
    points[idx, :, 0, idx] += hk.T
    points[idx, :, 1, idx] -= hk.T
    f = func(points.reshape(n, -1)).reshape(4, 2, n)
    a = (f[:, 0] - f[:, 1]) / (2 * hk)
    for m in range(1, 4):
        a = (a[1:] * 4**m - a[:-1]) / (4**m - 1)
    return a[0]


def minimal_complex(func, x, with_call_at_x=True):
    """The complex step, batched, in as few NumPy operations as it takes."""
    if with_call_at_x:
        func(x)
    return func(complex_batch(x)).imag / 2.220446049250313e-16


def complex_batch(x):
    n = x.shape[0]
    points = np.repeat(x[:, None].astype(complex), n, axis=1)
    points[np.arange(n), np.arange(n)] += 2.220446049250313e-16j
    return points


SWEEP_SIZES = [2, 5, 10, 20, 50, 100, 200, 500, 1000]


def sweep(sizes, repeat: int, plot) -> None:
    """sc2's gradient by n: xd.grad against numDeriv, numdifftools, scipy.differentiate."""
    have_ndt = importlib.util.find_spec("numdifftools") is not None
    rng = np.random.default_rng(0)
    points = {n: rng.uniform(-1.5, 1.5, n) for n in sizes}
    r_results = numderiv_times("grad", [("sc2", x) for x in points.values()], repeat)
    tools = {
        "xd.grad Richardson": lambda x: xd.grad(sc2, x),
        "xd.grad adaptive": lambda x: xd.grad(sc2, x, method="adaptive"),
        "xd.grad complex": lambda x: xd.grad(sc2, x, method="complex"),
    }
    if r_results is not None:
        tools["numDeriv grad (R)"] = None
    if have_ndt:
        import numdifftools as ndt

        tools["numdifftools.Gradient"] = lambda x: ndt.Gradient(sc2)(x)
    from scipy import differentiate

    tools["scipy.differentiate.jacobian"] = lambda x: differentiate.jacobian(sc2, x).df
    times: dict = {name: [] for name in tools}
    print("sc2's gradient by n: ms (error max |g - exact| / (1 + |exact|))")
    print(f"{'n':>5}  " + "  ".join(f"{name:>22s}" for name in tools))
    for i, (n, x) in enumerate(points.items()):
        exact = sc2_grad(x)
        cells = []
        for name, tool in tools.items():
            if tool is None:
                t, g = r_results[i]
            elif name.startswith("numdifftools") and n > 500:
                t, g = float("nan"), None  # minutes per call beyond this
            else:
                t, g = best(partial(tool, x), repeat if n <= 200 else max(1, repeat // 2))
            times[name].append(t)
            err = f"{error(g, exact):7.0e}" if g is not None else " " * 7
            cells.append(f"{t * 1e3:11.3f} ({err})")
        print(f"{n:>5}  " + "  ".join(f"{c:>22s}" for c in cells))
    if r_results is None:
        print("numDeriv: not run (no Rscript with numDeriv here)")
    if plot:
        line_plot(
            plot,
            {"sc2": {name: (list(points), [t * 1e3 for t in ts]) for name, ts in times.items()}},
            title="Gradient of numDeriv's sc2 by n (NumPy, one thread of a 2-core machine)",
            xlabel="n (coordinates)",
            ylabel="ms per gradient (best of N)",
            note="python benchmarks/bench_grad.py --sweep --plot ...",
        )


def _fixed_allocator() -> str:
    """The malloc settings this process runs under; on Linux, ALLOCATOR's (run again)."""
    if all(os.environ.get(name) == value for name, value in ALLOCATOR.items()):
        return " ".join(f"{name}={value}" for name, value in ALLOCATOR.items())
    if not sys.platform.startswith("linux"):
        return "the platform's defaults"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **ALLOCATOR})
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument(
        "--sweep", action="store_true", help="sc2 by n against numDeriv (R) and the others"
    )
    parser.add_argument("--plot", help="with --sweep: write the figure to this PNG")
    parser.add_argument(
        "--max-batch",
        type=int,
        nargs="+",
        default=[],
        help="also time xd.grad with these max_batch (calls of at most so many points)",
    )
    parser.add_argument(
        "--dynamic-malloc",
        action="store_true",
        help="leave glibc's malloc thresholds dynamic (its defaults) instead of fixing them",
    )
    args = parser.parse_args()
    malloc = "dynamic (glibc's defaults)" if args.dynamic_malloc else _fixed_allocator()
    print(f"malloc: {malloc}")
    if args.sweep:
        sweep(args.sizes if args.sizes != [10, 100, 1000] else SWEEP_SIZES, args.repeat, args.plot)
        return
    have_ndt = importlib.util.find_spec("numdifftools") is not None
    have_scipy = importlib.util.find_spec("scipy") is not None
    if have_ndt:
        import numdifftools as ndt
    if have_scipy:
        from scipy import differentiate, optimize

    print(
        f"{'function':<10} {'n':>5}  {'method':<34} {'ms':>10} {'x floor':>8} {'x min':>6} "
        f"{'xd faster':>10} {'error':>9}"
    )
    print("-" * 101)
    rng = np.random.default_rng(0)
    for name, func, exact_grad in FUNCTIONS:
        for n in args.sizes:
            x = rng.uniform(-1.5, 1.5, n)
            exact = exact_grad(x)
            rows = []
            batch = richardson_batch(x)
            t_floor_r, _ = best(partial(func, batch), args.repeat)
            cbatch = complex_batch(x)
            t_floor_c, _ = best(partial(func, cbatch), args.repeat)
            t_mr, _ = best(partial(minimal_richardson, func, x), args.repeat)
            t_mr0, _ = best(partial(minimal_richardson, func, x, False), args.repeat)
            t_mc, _ = best(partial(minimal_complex, func, x), args.repeat)
            t_mc0, _ = best(partial(minimal_complex, func, x, False), args.repeat)
            t_r, g = best(partial(xd.grad, func, x), args.repeat)
            rows.append(("xd.grad Richardson", t_r, t_r / t_floor_r, t_r / t_mr, None, g))
            for cap in args.max_batch:  # calls of at most cap points: the same numbers
                t, g = best(partial(xd.grad, func, x, max_batch=cap), args.repeat)
                label = f"  xd.grad Richardson, max_batch={cap}"
                rows.append((label, t, t / t_floor_r, t / t_mr, None, g))
            rows.append(("  floor: func on its 8n points", t_floor_r, 1.0, None, None, None))
            rows.append(("  minimal (call at x + batch)", t_mr, t_mr / t_floor_r, 1.0, None, None))
            rows.append(("  minimal, batch only", t_mr0, t_mr0 / t_floor_r, None, None, None))
            t_c, g = best(partial(xd.grad, func, x, "complex"), args.repeat)
            rows.append(("xd.grad complex", t_c, t_c / t_floor_c, t_c / t_mc, None, g))
            rows.append(("  floor: func on its n points", t_floor_c, 1.0, None, None, None))
            rows.append(("  minimal (call at x + batch)", t_mc, t_mc / t_floor_c, 1.0, None, None))
            rows.append(("  minimal, batch only", t_mc0, t_mc0 / t_floor_c, None, None, None))
            if have_ndt and n <= 1000:
                gradient = ndt.Gradient(func)
                t, g = best(partial(gradient, x), max(1, args.repeat // 2))
                rows.append(("numdifftools.Gradient", t, None, None, t / t_r, g))
            if have_scipy:
                t, res = best(partial(differentiate.jacobian, func, x), args.repeat)
                rows.append(("scipy.differentiate.jacobian", t, None, None, t / t_r, res.df))
                t, g = best(partial(optimize.approx_fprime, x, func), args.repeat)
                rows.append(("scipy.optimize.approx_fprime", t, None, None, t / t_r, g))
            for label, t, floor_ratio, min_ratio, faster, g in rows:
                fr = f"{floor_ratio:8.2f}" if floor_ratio is not None else " " * 8
                mr = f"{min_ratio:6.2f}" if min_ratio is not None else " " * 6
                fa = f"{faster:10.1f}" if faster is not None else " " * 10
                er = f"{error(g, exact):9.1e}" if g is not None else " " * 9
                print(f"{name:<10} {n:>5}  {label:<34} {t * 1e3:10.3f} {fr} {mr} {fa} {er}")
            print()


if __name__ == "__main__":
    main()
