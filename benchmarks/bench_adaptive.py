"""method="adaptive" against numDeriv's Richardson, scipy.differentiate and numdifftools.

Run: ``python benchmarks/bench_adaptive.py [--repeat N] [--quick] [--plot PNG]``;
``--tail 20000`` prints issue 21's tail count (eight smooth functions x 20,000
random points), ``--first-call 1000000`` the first call at a new size against a
later one (issue 20), ``--memory`` the peak of traced memory against the memory
budget (issue 21).

Part 1, first derivatives: the sixteen problems of ``adaptive_problems.py``
(standard test functions of the step-size literature, with exact
derivatives), 100 points each. For each method: the median relative error,
the share of points below 1e-12, the points where the result is not finite
though the derivative is, the function values per derivative, the calls of
the function per problem, the share of points whose true error is below 10
times the method's own error estimate, and the total time over the sixteen
problems (best of N; each problem is one vectorized call of each method).

Part 2, Hessians of separable sums ``g(x0) + g(x1)`` over pairs of
consecutive benchmark points (the exact Hessian is ``diag(g''(x0),
g''(x1))``): the same columns, errors in the Frobenius norm relative to the
exact Hessian's.

Part 3, numDeriv's ``sc2`` (``sum_i i (exp(x_i) - x_i) / n``) at n = 10,
100 and 1000 (x uniform in [-1.5, 1.5]): relative error of the gradient in
the 2-norm and time, against Richardson's.

Columns for scipy.differentiate and numdifftools appear where installed
(``pip install numdifftools``).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings

import numpy as np
from adaptive_problems import PROBLEMS, points
from plotting import scatter_plot

import xpdiff as xd


class Counted:
    """f, counting its calls and the values it computes."""

    def __init__(self, f):
        self.f, self.calls, self.values = f, 0, 0

    def __call__(self, x, *args):
        self.calls += 1
        self.values += np.size(x)
        return self.f(x, *args)


# --- the methods: each returns (estimate, error estimate or None) ------------------------------


def xd_method(method, **kwargs):
    def run(f, x):
        g, info = xd.grad(f, x, method=method, full_output=True, **kwargs)
        return g, info.error if method == "adaptive" else None

    return run


def scipy_derivative(f, x):
    from scipy.differentiate import derivative

    res = derivative(f, x)
    return res.df, res.error


def numdifftools_derivative(f, x):
    import numdifftools as nd

    result = nd.Derivative(f, full_output=True)(x)
    return result.estimate, result.error_estimate


def first_derivative_methods():
    methods = [
        ("xd Richardson (numDeriv)", xd_method("Richardson")),
        ("xd adaptive", xd_method("adaptive")),
        ("xd adaptive, side=+1", None),
        ("xd complex step", xd_method("complex")),
    ]
    if importlib.util.find_spec("scipy.differentiate"):
        methods.append(("scipy.differentiate", scipy_derivative))
    if importlib.util.find_spec("numdifftools"):
        methods.append(("numdifftools", numdifftools_derivative))
    return methods


def _one_sided(f, x):
    g, info = xd.grad(f, x, method="adaptive", side=[1] * x.size, full_output=True)
    return g, info.error


def first_derivatives(repeat: int, count: int) -> dict:
    print(f"\nFirst derivatives: 16 problems x {count} points")
    header = (
        f"  {'method':26s} {'median':>8s} {'<1e-12':>7s} {'nonfin':>6s} {'f/deriv':>7s} "
        f"{'calls':>5s} {'honest':>6s} {'time':>8s}"
    )
    print(header)
    summary = {}
    for name, method in first_derivative_methods():
        method = method or _one_sided
        errors, honest, nonfinite, values, calls = [], [], 0, 0, 0
        for _, f, fp, _, interval, spacing, _ in PROBLEMS:
            x = points(interval, spacing, count)
            exact = fp(x)
            counted = Counted(f)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value, error = method(counted, x)
            value = np.asarray(value, dtype=np.float64)
            true = np.abs(value - exact)
            errors.append(true / np.abs(exact))
            nonfinite += int(np.sum(~np.isfinite(value)))
            if error is not None:
                honest.append(true <= 10 * np.asarray(error))
            values += counted.values / x.size
            calls += counted.calls
        seconds = _time_all(method, repeat, count)
        e = np.concatenate(errors)
        finite = e[np.isfinite(e)]
        row = {
            "median": float(np.median(finite)) if finite.size else np.nan,
            "below": float(np.mean(e < 1e-12)),
            "nonfinite": nonfinite,
            "per_derivative": values / len(PROBLEMS),
            "calls": calls / len(PROBLEMS),
            "honest": float(np.mean(np.concatenate(honest))) if honest else np.nan,
            "seconds": seconds,
        }
        summary[name] = row
        honest_text = f"{row['honest']:6.1%}" if honest else f"{'-':>6s}"
        print(
            f"  {name:26s} {row['median']:8.1e} {row['below']:7.1%} {nonfinite:6d} "
            f"{row['per_derivative']:7.1f} {row['calls']:5.1f} {honest_text} "
            f"{seconds * 1e3:6.1f}ms"
        )
    print(
        "  (median over finite results; complex step: needs a function that accepts complex input)"
    )
    return summary


def _time_all(method, repeat: int, count: int) -> float:
    inputs = [
        (f, points(interval, spacing, count)) for _, f, _, _, interval, spacing, _ in PROBLEMS
    ]
    best = np.inf
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            start = time.perf_counter()
            for f, x in inputs:
                method(f, x)
            best = min(best, time.perf_counter() - start)
    return best


# --- Hessians of separable sums ------------------------------------------------------------


def hessian_methods():
    methods = [
        ("xd Richardson (numDeriv)", lambda F, X: (xd.hessian(F, X), None)),
        ("xd adaptive", _xd_adaptive_hessian),
    ]
    if importlib.util.find_spec("scipy.differentiate"):
        methods.append(("scipy.differentiate", _scipy_hessian))
    if importlib.util.find_spec("numdifftools"):
        methods.append(("numdifftools", _numdifftools_hessian))
    return methods


def _xd_adaptive_hessian(F, X):
    H, info = xd.hessian(F, X, method="adaptive", full_output=True)
    return H, info.error


def _scipy_hessian(F, X):
    from scipy.differentiate import hessian

    res = hessian(F, X)
    return res.ddf, res.error


def _numdifftools_hessian(F, X):
    import numdifftools as nd

    out = np.empty((2, 2, X.shape[1]))
    error = np.empty_like(out)
    for k in range(X.shape[1]):
        result = nd.Hessian(F, full_output=True)(X[:, k])
        out[:, :, k], error[:, :, k] = result.estimate, result.error_estimate
    return out, error


def hessians(repeat: int, count: int) -> dict:
    print(f"\nHessians of g(x0) + g(x1): 16 problems x {count} pairs of points")
    print(
        f"  {'method':26s} {'median':>8s} {'<1e-12':>7s} {'<1e-10':>7s} {'nonfin':>6s} "
        f"{'f/entry':>7s} {'calls':>5s} {'honest':>6s} {'time':>8s}"
    )
    summary = {}
    for name, method in hessian_methods():
        errors, honest, nonfinite, values, calls = [], [], 0, 0, 0
        inputs = []
        for _, g, _, g2, interval, spacing, _ in PROBLEMS:
            x = points(interval, spacing, count)
            X = np.stack([x, np.roll(x, -1)])
            F = Counted(lambda p, g=g: g(p[0]) + g(p[1]))
            inputs.append((F, X))
            exact = np.zeros((2, 2, count))
            exact[0, 0], exact[1, 1] = g2(X[0]), g2(X[1])
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                H, error = method(F, X)
            H = np.asarray(H, dtype=np.float64)
            diff = H - exact
            true = np.sqrt(np.sum(diff**2, axis=(0, 1)))
            errors.append(true / np.sqrt(np.sum(exact**2, axis=(0, 1))))
            nonfinite += int(np.sum(~np.all(np.isfinite(H), axis=(0, 1))))
            if error is not None:
                honest.append(np.all(np.abs(diff) <= 10 * np.asarray(error), axis=(0, 1)))
            values += F.values / 2 / count / 3  # per entry of the lower triangle
            calls += F.calls
        best = np.inf
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for _ in range(repeat):
                start = time.perf_counter()
                for F, X in inputs:
                    method(F.f, X)
                best = min(best, time.perf_counter() - start)
        e = np.concatenate(errors)
        finite = e[np.isfinite(e)]
        row = {
            "median": float(np.median(finite)),
            "below": float(np.mean(e < 1e-12)),
            "below10": float(np.mean(e < 1e-10)),
            "nonfinite": nonfinite,
            "per_entry": values / len(PROBLEMS),
            "calls": calls / len(PROBLEMS),
            "honest": float(np.mean(np.concatenate(honest))) if honest else np.nan,
            "seconds": best,
        }
        summary[name] = row
        honest_text = f"{row['honest']:6.1%}" if honest else f"{'-':>6s}"
        print(
            f"  {name:26s} {row['median']:8.1e} {row['below']:7.1%} {row['below10']:7.1%} "
            f"{nonfinite:6d} {row['per_entry']:7.1f} {row['calls']:5.1f} {honest_text} "
            f"{best * 1e3:6.1f}ms"
        )
    return summary


# --- numDeriv's sc2 ------------------------------------------------------------------------


def sc2(x):
    n = x.shape[0]
    w = np.arange(1, n + 1, dtype=x.dtype).reshape((n,) + (1,) * (x.ndim - 1))
    return np.sum(w * (np.exp(x) - x), axis=0) / n


def sc2_table(repeat: int, sizes) -> None:
    print("\nnumDeriv's sc2, x uniform in [-1.5, 1.5]: relative error (2-norm) and time")
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.uniform(-1.5, 1.5, n)
        exact = np.arange(1, n + 1) / n * (np.exp(x) - 1)
        cases = [
            ("Richardson", lambda x=x: xd.grad(sc2, x)),
            ("adaptive", lambda x=x: xd.grad(sc2, x, method="adaptive")),
        ]
        if importlib.util.find_spec("scipy.differentiate") and n <= 1000:
            from scipy.differentiate import jacobian

            cases.append(("scipy.differentiate", lambda x=x: jacobian(sc2, x).df))
        times = {}
        parts = []
        for name, fn in cases:
            best = np.inf
            for _ in range(repeat):
                start = time.perf_counter()
                g = fn()
                best = min(best, time.perf_counter() - start)
            times[name] = best
            error = np.linalg.norm(g - exact) / np.linalg.norm(exact)
            parts.append(f"{name} {error:.1e} in {best * 1e3:.2f} ms")
        ratio = times["adaptive"] / times["Richardson"]
        print(f"  n={n:5d}: " + "; ".join(parts) + f"; adaptive / Richardson time {ratio:.2f}")


def first_call(size: int) -> None:
    """Elementwise derivative at ``size`` new points: first call against a later one."""
    print(f"\nFirst call at a new size ({size} points, elementwise sin), seconds")
    for label, side in (("central", None), ("half +1, half -1", "mixed")):
        x = np.linspace(0.1, 2.0, size) + 1e-9 * (label == "central")  # a size never seen
        sides = None if side is None else [1.0] * (size // 2) + [-1.0] * (size - size // 2)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            xd.grad(np.sin, x, method="adaptive", side=sides)
            times.append(time.perf_counter() - start)
        later = min(times[1:])
        print(
            f"  {label:18s} first {times[0]:7.3f}  later {later:7.3f}  "
            f"first / later {times[0] / later:5.2f}"
        )


def tail(count: int) -> None:
    """issue 21's measurement: eight smooth functions at ``count`` random points each."""
    from adaptive_problems import SMOOTH, tail_counts

    def grad(f, x):
        with np.errstate(all="ignore"):
            value, info = xd.grad(f, x, method="adaptive", full_output=True)
        return value, info.error

    counts = tail_counts(grad, count)
    total = count * len(SMOOTH)
    print(f"\nThe tail: {len(SMOOTH)} smooth functions x {count} random points in [-5, 5]")
    print(f"  {'function':34s} {'>1e-8':>6s} {'err>10x est':>11s} {'worst':>8s}")
    for name, row in counts.items():
        print(f"  {name:34s} {row['worse']:6d} {row['understated']:11d} {row['worst']:8.1e}")
    worse = sum(r["worse"] for r in counts.values())
    under = sum(r["understated"] for r in counts.values())
    print(f"  total {total}: {worse} worse than 1e-8 ({worse / total:.4%}), {under} understated")


def _peak(fn) -> float:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def memory() -> None:
    """Peak traced memory (MiB; NumPy's allocations are traced) against the budget."""
    print("\nPeak traced memory against the memory budget, MiB (tracemalloc)")
    rng = np.random.default_rng(0)

    def jacobian_case(n, m):
        x = rng.uniform(0.5, 1.5, n)
        scale = np.linspace(0.5, 1.5, m)

        def f(x):
            return np.sin(np.multiply.outer(scale, np.sum(x, axis=0)))

        return f, x

    cases = [
        ("jacobian n=50, m=2e4", 16, *jacobian_case(50, 20_000), xd.jacobian),
        ("jacobian n=100, m=1e5", 128, *jacobian_case(100, 100_000), xd.jacobian),
        (
            "grad of 10 x 2e5 points",
            32,
            lambda x: np.sum(np.sin(x), axis=0),
            rng.uniform(0.5, 1.5, (10, 200_000)),
            xd.grad,
        ),
    ]
    print(f"  {'problem':26s} {'budget':>6s} {'result':>6s} {'adaptive':>8s} {'Richardson':>10s}")
    for name, budget, f, x, fn in cases:
        result = np.prod(np.shape(fn(f, x[..., :1] if x.ndim > 1 else x, method="simple")))
        result = result * (x.shape[1] if x.ndim > 1 else 1) * 8 / 2**20
        peaks = []
        for method in ("adaptive", "Richardson"):
            with xd.memory_budget(budget * 2**20):
                peaks.append(_peak(lambda f=f, x=x, m=method, fn=fn: fn(f, x, method=m)))
        print(f"  {name:26s} {budget:6d} {result:6.1f} {peaks[0]:8.1f} {peaks[1]:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 points per problem")
    parser.add_argument("--plot", help="write error against time per method to this PNG")
    parser.add_argument("--tail", type=int, default=0, help="points per function; 20000 = 160k")
    parser.add_argument("--first-call", type=int, default=0, help="points of the first call")
    parser.add_argument("--memory", action="store_true", help="peak memory against the budget")
    args = parser.parse_args()
    if args.memory:
        memory()
    if args.tail or args.first_call or args.memory:
        if args.tail:
            tail(args.tail)
        if args.first_call:
            first_call(args.first_call)
        return
    count = 20 if args.quick else 100
    summary = first_derivatives(args.repeat, count)
    if args.plot:
        scatter_plot(
            args.plot,
            {name: (row["seconds"] * 1e3, row["median"]) for name, row in summary.items()},
            title=f"First derivatives of 16 problems x {count} points: error against time",
            xlabel=f"ms for all 16 x {count} derivatives (best of N)",
            ylabel="median relative error",
            note="python benchmarks/bench_adaptive.py --plot ...",
        )
    hessians(max(1, args.repeat // 2), count)
    sc2_table(args.repeat, (10, 100) if args.quick else (10, 100, 1000))


if __name__ == "__main__":
    main()
