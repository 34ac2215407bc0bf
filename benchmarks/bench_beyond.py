"""Issue 23's targets side by side: derivative, jvp, hvp, as_jax and as_torch.

Run: ``python benchmarks/bench_beyond.py [--repeat N] [--points 100000]``.

1. ``xd.derivative`` of order n = 1..4 at ``--points`` elements of smooth
   functions (exp, sin, log1p): best-of-N time and the largest error against
   the exact derivative, ``|d - exact| / max(|exact|, 1)``, for method "adaptive" (the default) and
   "Richardson", beside ``numdifftools.Derivative``. numdifftools is
   timed two ways: point by point (its documented use, one Derivative call per
   point) on a subset of ``--subset`` points, scaled to the whole set, and as
   one call on the whole array (its elementwise-vectorized use). "nd/xd" is
   numdifftools' time divided by xd's adaptive (the target: at least 10, with
   an error no larger; point by point, xd's error on the same subset of
   points; vectorized, the best times of the two taken in turn, at least 5
   runs each, not the "adaptive" column's). For n = 1, "x grad" divides derivative's time by
   ``xd.grad``'s on the same elementwise function and method, best of
   runs taken in turn (target: at most 1). Table 1b: for each row, the values of
   func per point that xd and numdifftools take and func's own time on xd's
   values: as func's cost per value grows, the vectorized ratio tends to the
   ratio of values per point, whatever the rest costs.
2. ``xd.jvp`` at n = 1000, k = 1, m = 30, 300, 1000, 3000 outputs (a cheap
   func to a moderately expensive one; m = n, a square system, is
   Newton-Krylov's case): its points (target: at most 2 r + 1 = 9),
   its time over one bare call of func on the same 9 points, already built
   (target: at most 1.2), beside the same ratio for a minimal hand-written
   NumPy JVP (the floor) and for jvp's general path (``kwargs={}``: the
   same call without the quick path), and its difference from ``xd.jacobian(f, x) @ v``
   (target: 1e-8 relative, in the max norm), both against the exact J v;
   2b: jvp's and the floor's own time beyond func, with a func that costs
   almost nothing.
3. ``xd.hvp`` at n = 200: its points beside ``xd.hessian``'s (target: at least
   20 times fewer) and its difference from ``xd.hessian(f, x) @ v`` (target:
   1e-6 relative).
4. ``as_jax`` / ``as_torch``: the gradient of a loss through a NumPy black
   box against the analytic gradient (target: 1e-7 relative).

Times are wall-clock on whatever machine runs this; compare the ratios, which
are taken in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
import warnings

import numpy as np
from timing import best

import xpdiff as xd

FUNCTIONS = {
    "exp": (np.exp, lambda x, n: np.exp(x), (0.5, 3.0)),
    "sin": (np.sin, lambda x, n: np.sin(x + n * np.pi / 2), (0.5, 3.0)),
    "log1p": (
        np.log1p,
        lambda x, n: (-1) ** (n - 1) * math.factorial(n - 1) / (1 + x) ** n,
        (0.2, 3.0),
    ),
}


def alternated(fns, repeat: int, *, min_seconds: float = 0.02) -> tuple[list[float], list]:
    """Best times of the ``fns`` run in turn (a shared machine's load then weighs on all
    alike), each run calling a fast fn as often as makes it last ``min_seconds``;
    returns the times and each fn's last result."""
    outs, numbers = [], []
    for fn in fns:
        fn()  # a warm-up call: a first call's one-time costs would set too few calls per
        # run, and a run of one call after the others' runs finds the caches cold (jvp:
        # 288 µs a call timed one at a time in turns, 98 µs timed 200 at a time)
        start = time.perf_counter()
        outs.append(fn())
        numbers.append(max(1, int(min_seconds / max(time.perf_counter() - start, 1e-7))))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for index, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(numbers[index]):
                outs[index] = fn()
            times[index].append((time.perf_counter() - start) / numbers[index])
    return [min(t) for t in times], outs


def relative_error(value, exact) -> float:
    """max |d - exact| / max(|exact|, 1): relative, except where the derivative crosses 0."""
    return float(np.max(np.abs(np.asarray(value) - exact) / np.maximum(np.abs(exact), 1.0)))


def derivative_table(points: int, subset: int, repeat: int) -> None:
    have_nd = importlib.util.find_spec("numdifftools") is not None
    if have_nd:
        import numdifftools as nd
    print(f"\n1. xd.derivative at {points} points, orders 1-4 (time in ms, max relative error)")
    header = (
        f"{'f':>6} {'n':>2} | {'adaptive':>17} | {'Richardson':>17} | "
        f"{'nd per point':>17} {'xd there':>8} {'nd/xd':>7} {'met':>3} | "
        f"{'nd vectorized':>17} {'nd/xd':>7} {'met':>3} | "
        f"{'x grad':>6}"
    )
    print(header)
    print("-" * len(header))
    verdicts: dict[str, list[str]] = {"per point": [], "vectorized": []}
    vectorized: dict[tuple[str, int], tuple[float, float]] = {}
    for name, (func, exact_of, (lo, hi)) in FUNCTIONS.items():
        x = np.linspace(lo, hi, points)
        for n in (1, 2, 3, 4):
            exact = exact_of(x, n)
            t_ad, d_ad = best(lambda x=x, n=n, f=func: xd.derivative(f, x, n=n), repeat)
            t_ri, d_ri = best(
                lambda x=x, n=n, f=func: xd.derivative(f, x, n=n, method="Richardson"),
                repeat,
            )
            e_ad, e_ri = relative_error(d_ad, exact), relative_error(d_ri, exact)
            row = f"{name:>6} {n:>2} | {t_ad * 1e3:8.1f} {e_ad:8.1e} | "
            row += f"{t_ri * 1e3:8.1f} {e_ri:8.1e} | "
            if have_nd:
                stride = max(1, points // subset)
                sub = x[::stride][:subset]
                # the same points for both: a maximum over many more points is larger
                e_ad_sub = relative_error(d_ad[::stride][:subset], exact_of(sub, n))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    D = nd.Derivative(func, n=n)
                    t_pp, d_pp = best(lambda D=D, sub=sub: np.array([D(s) for s in sub]), 1)
                    t_pp *= points / sub.size
                    # xd and numdifftools' one call taken in turn: a shared machine's load
                    # weighs on both alike, and each gets its best of the same runs
                    (t_pair, t_vec), (_, d_vec) = alternated(
                        [lambda x=x, n=n, f=func: xd.derivative(f, x, n=n), lambda D=D, x=x: D(x)],
                        max(5, repeat),
                    )
                e_pp = relative_error(d_pp, exact_of(sub, n))
                e_vec = relative_error(d_vec, exact)
                met_pp = "yes" if e_ad_sub <= e_pp and t_pp >= 10 * t_ad else "no"
                met_vec = "yes" if e_ad <= e_vec and t_vec >= 10 * t_pair else "no"
                verdicts["per point"].append(met_pp)
                verdicts["vectorized"].append(met_vec)
                vectorized[name, n] = (t_pair, t_vec)
                row += (
                    f"{t_pp * 1e3:8.0f} {e_pp:8.1e} {e_ad_sub:8.1e} "
                    f"{t_pp / t_ad:7.0f} {met_pp:>3} | "
                    f"{t_vec * 1e3:8.1f} {e_vec:8.1e} {t_vec / t_pair:7.1f} {met_vec:>3} | "
                )
            else:
                row += f"{'(numdifftools not installed)':>72} | "
            if n == 1:  # runs taken in turn: the ratio that matters here, each method's
                # pair on its own (a call right after the other method's, whose arrays
                # are larger, ran 1 ms slower: Richardson's derivative and grad 1.2 apart
                # in one order, 0.8 in the other)
                (a, b), _ = alternated(
                    [
                        lambda x=x, f=func: xd.derivative(f, x),
                        lambda x=x, f=func: xd.grad(f, x, method="adaptive"),
                    ],
                    max(9, 3 * repeat),
                )
                (c, d), _ = alternated(
                    [
                        lambda x=x, f=func: xd.derivative(f, x, method="Richardson"),
                        lambda x=x, f=func: xd.grad(f, x),
                    ],
                    max(9, 3 * repeat),
                )
                row += f"{a / b:6.2f} (Richardson {c / d:.2f})"
            print(row)
    print(
        "nd per point: numdifftools.Derivative called once per point on "
        f"{subset} points, time scaled to {points}; 'xd there': xd's adaptive error on "
        f"those points (its error over all points is a maximum over {points // subset} times "
        "more points); "
        "nd vectorized: one call on all points, its nd/xd from runs of both taken in turn. "
        "met: xd.derivative's default (adaptive) is at least as accurate as that use of "
        "numdifftools on the same points in at most 1/10 of its time (issue 23's target). "
        "x grad: "
        "derivative's time over grad's, n = 1, best of runs taken in turn (target: at most 1)."
    )
    for use, marks in verdicts.items():
        if marks:
            print(
                f"issue 23's target against numdifftools {use}: met in "
                f"{marks.count('yes')} of {len(marks)} rows"
            )
    if vectorized:
        func_share_table(points, repeat, vectorized)


def values_per_point(derivative, func, x) -> float:
    """How many values of func per point ``derivative(counting func, x)`` takes, in a
    second call as in the timed ones (a first also checks that func does not mix points)."""
    count = [0]

    def counting(z):
        count[0] += z.size
        return func(z)

    derivative(counting, x)
    count[0] = 0
    derivative(counting, x)
    return count[0] / x.size


def func_share_table(points: int, repeat: int, vectorized: dict) -> None:
    """Where the time of 1/10 of numdifftools' vectorized call goes: func's own share.

    For each row of table 1: the values of func per point that xd's default and
    numdifftools take, func's own time on as many values as xd's call makes
    (one call on one array, best of runs), xd's time and numdifftools' / 10
    (from table 1's runs taken in turn), and what 1/10 of numdifftools' time
    leaves for everything but func. As func's cost per value grows, the ratio
    of the two times tends to the ratio of their values per point.
    """
    import numdifftools as nd

    print("\n1b. func's share of the time (ms) against numdifftools' vectorized call")
    header = (
        f"{'f':>6} {'n':>2} | {'values/pt xd':>12} {'nd':>5} | {'func':>6} {'xd':>6} "
        f"{'nd / 10':>7} | {'left':>6}"
    )
    print(header)
    print("-" * len(header))
    for (name, n), (t_xd, t_nd) in vectorized.items():
        func, _, (lo, hi) = FUNCTIONS[name]
        x = np.linspace(lo, hi, points)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = values_per_point(lambda f, x, n=n: xd.derivative(f, x, n=n), func, x)
            theirs = values_per_point(lambda f, x, n=n: nd.Derivative(f, n=n)(x), func, x)
        many = np.resize(x, round(ours * points))
        t_func, _ = best(lambda f=func, many=many: f(many), repeat)
        print(
            f"{name:>6} {n:>2} | {ours:12.1f} {theirs:5.1f} | {t_func * 1e3:6.1f} "
            f"{t_xd * 1e3:6.1f} {t_nd * 1e2:7.1f} | {(t_nd / 10 - t_func) * 1e3:6.1f}"
        )
    print(
        "func: func alone on as many values as xd's call gives it, in one call; left: "
        "numdifftools' time / 10 less that, what the target leaves for building the "
        "points and choosing among the estimates (xd - func is what xd takes for them)."
    )


def minimal_numpy_jvp(f, x, v):
    """A minimal hand-written NumPy JVP: build the 9 points, call f, one weighted sum.

    The points are built as ``(9, n)``, each operation along the n coordinates,
    and transposed once into the row-major ``(n, 9)`` that f gets: built as ``(n,
    9)`` directly (NumPy's inner loops over the 8 sets) they took 27 us at n = 1000,
    more than f's call at m = 30 (an earlier version of this floor did that).
    """
    t = np.max(np.abs(x)) * 1e-4 / np.max(np.abs(v))
    rows = np.empty((9, x.size))
    rows[0] = x
    np.multiply(MOVES[:, None], t * v, out=rows[1:])
    rows[1:] += x
    values = f(np.ascontiguousarray(rows.T))
    return (values[:, 1:] - values[:, :1]) @ WEIGHTS / t


MOVES = np.array([1.0, -1.0, 0.5, -0.5, 0.25, -0.25, 0.125, -0.125])
WEIGHTS = np.array([1.0, -1.0, -20.0, 20.0, 64.0, -64.0, 0.0, 0.0]) / 90  # any 8 weights


def jvp_table(repeat: int) -> None:
    rng = np.random.default_rng(0)
    n = 1000
    print("\n2. xd.jvp, n = 1000, k = 1 (f: R^1000 -> R^m, tanh(A x), |x_i| in [0.5, 1.5])")
    print(
        f"{'m':>5} {'points':>7} {'target':>7} | {'jvp us':>9} {'bare us':>9} {'ratio':>6} "
        f"{'target':>6} {'floor':>6} {'gen.':>6} | {'jvp-Jv':>8} {'target':>6} | "
        f"{'jvp err':>8} {'J v err':>8}"
    )
    for m in (30, 300, 1000, 3000):
        A = rng.standard_normal((m, n)) / np.sqrt(n)

        def f(z, A=A):
            return np.tanh(np.tensordot(A, z, axes=(1, 0)))

        # no coordinate near 0: there xd.jacobian's relative steps d |x_i| would make J's
        # own rounding error, not jvp's, the larger one (tests/test_products.py shows both)
        x = rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
        v = rng.standard_normal(n)
        batch = x[:, None] + np.linspace(-1e-4, 1e-4, 9)[None, :] * v[:, None]
        # the call a user makes (full_output adds the error estimate's rows): its count
        # from a call with full_output after the timed ones
        (t_jvp, t_floor, t_bare, t_general), _ = alternated(
            [
                lambda f=f, x=x, v=v: xd.jvp(f, x, v),
                lambda f=f, x=x, v=v: minimal_numpy_jvp(f, x, v),
                lambda f=f, batch=batch: f(batch),
                # kwargs={}: the same call by the general path (the quick path's is None)
                lambda f=f, x=x, v=v: xd.jvp(f, x, v, kwargs={}),
            ],
            4 * repeat + 1,
        )
        res = xd.jvp(f, x, v, full_output=True)
        Jv = xd.jacobian(f, x) @ v
        exact = (1 - np.tanh(A @ x) ** 2) * (A @ v)
        scale = np.max(np.abs(exact))
        difference = np.max(np.abs(res.value - Jv)) / np.max(np.abs(Jv))
        print(
            f"{m:>5} {res.nfev:>7} {'<= 9':>7} | {t_jvp * 1e6:9.1f} {t_bare * 1e6:9.1f} "
            f"{t_jvp / t_bare:6.2f} {'<= 1.2':>6} {t_floor / t_bare:6.2f} "
            f"{t_general / t_bare:6.2f} | "
            f"{difference:8.1e} {'<= 1e-8':>6} | "
            f"{np.max(np.abs(res.value - exact)) / scale:8.1e} "
            f"{np.max(np.abs(Jv - exact)) / scale:8.1e}"
        )
    print(
        "ratio: best time of xd.jvp(f, x, v) (without full_output, whose error estimate "
        "adds rows; points and errors from a call with it) over one bare call of f on 9 "
        "points already built, runs taken in turn; floor: the same ratio for a minimal "
        "hand-written NumPy JVP (build the 9 points, call f, one weighted sum): what any "
        "JVP costs beyond f; gen.: the same ratio for the general path (kwargs={}: "
        "the everyday call without the quick path's plan). jvp-Jv: max "
        "|jvp - J v| / max |J v| with J = xd.jacobian(f, x); err: max difference from the "
        "exact J v over max |exact|."
    )
    jvp_own_time(repeat)


def jvp_own_time(repeat: int) -> None:
    """2b. What jvp adds to func's time, with a func that costs almost nothing.

    ``f(z) = z[:m] * 2`` (m rows of z, repeated beyond n): jvp's time less one
    bare call of f on 9 points already built, and the same for the minimal
    JVP (the floor): the work of jvp itself, which table 2's ratio adds to
    func's time. With a func that reads much memory (``tanh(A x)``, A of 8 MB
    at m = 1000) func itself can also run slower inside a JVP than in the bare
    call, whose points and A stay in cache between runs: table 2's floor shows
    it too.
    """
    rng = np.random.default_rng(1)
    n = 1000
    x, v = rng.uniform(0.5, 1.5, n), rng.standard_normal(n)
    batch = x[:, None] + np.linspace(-1e-4, 1e-4, 9)[None, :] * v[:, None]
    print("\n2b. jvp's own time beyond func (us; f(z) = z[:m] * 2, n = 1000)")
    print(f"{'m':>5} | {'jvp':>7} {'floor':>7}")
    for m in (30, 300, 1000, 3000):

        def f(z, m=m):
            return z[:m] * 2.0 if m <= n else np.concatenate([z] * (m // n)) * 2.0

        (t_jvp, t_floor, t_bare), _ = alternated(
            [
                lambda f=f: xd.jvp(f, x, v),
                lambda f=f: minimal_numpy_jvp(f, x, v),
                lambda f=f: f(batch),
            ],
            4 * repeat + 1,
        )
        print(f"{m:>5} | {(t_jvp - t_bare) * 1e6:7.1f} {(t_floor - t_bare) * 1e6:7.1f}")
    print("jvp, floor: best time less that of one bare call of f on 9 points, runs in turn.")


def hvp_table(repeat: int) -> None:
    rng = np.random.default_rng(2)
    n = 200

    def rosenbrock(z):
        return np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2, axis=0)

    x, v = rng.uniform(0.5, 1.5, n), rng.standard_normal(n)
    t_hvp, res = best(lambda: xd.hvp(rosenbrock, x, v, full_output=True), repeat)
    t_hess, hess = best(lambda: xd.hessian(rosenbrock, x, full_output=True), 1)
    Hv = hess.value @ v
    difference = np.max(np.abs(res.value - Hv)) / np.max(np.abs(Hv))
    print("\n3. xd.hvp, n = 200 (Rosenbrock)")
    print(
        f"{'hvp points':>10} {'hessian points':>14} {'fewer':>6} {'target':>6} | "
        f"{'hvp ms':>8} {'hessian ms':>10} |"
    )
    print(
        f"{res.nfev:>10} {hess.nfev:>14} {hess.nfev / res.nfev:6.1f} {'>= 20':>6} | "
        f"{t_hvp * 1e3:8.1f} {t_hess * 1e3:10.1f} | |hvp - H v| / |H v| = {difference:.1e} "
        "(<= 1e-6)"
    )


def interop_table() -> None:
    def simulator(x):
        return np.stack([np.sin(x[0]) * x[1], np.exp(x[1]) - x[2] ** 2, x[0] * x[1] * x[2]])

    def exact_gradient(x):
        J = np.array(
            [
                [np.cos(x[0]) * x[1], np.sin(x[0]), 0.0],
                [0.0, np.exp(x[1]), -2 * x[2]],
                [x[1] * x[2], x[0] * x[2], x[0] * x[1]],
            ]
        )
        return 2 * simulator(x) @ J

    x0 = np.array([0.5, 0.2, -1.5])
    exact = exact_gradient(x0)
    print("\n4. the gradient of sum(f(x)**2) through a NumPy black box (target: 1e-7 relative)")
    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)
        f = xd.as_jax(simulator)
        g = jax.jit(jax.grad(lambda x: jax.numpy.sum(f(x) ** 2)))(jax.numpy.asarray(x0))
        print(f"   as_jax   (jax.jit(jax.grad)): {relative_error(np.asarray(g), exact):.1e}")
    if importlib.util.find_spec("torch") is not None:
        import torch

        f = xd.as_torch(simulator)
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        (f(x) ** 2).sum().backward()
        print(f"   as_torch (loss.backward()):   {relative_error(x.grad.numpy(), exact):.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--subset", type=int, default=200)
    parser.add_argument(
        "--only", choices=("derivative", "jvp", "hvp", "interop"), help="one table only"
    )
    args = parser.parse_args()
    tables = {
        "derivative": lambda: derivative_table(args.points, args.subset, args.repeat),
        "jvp": lambda: jvp_table(args.repeat),
        "hvp": lambda: hvp_table(args.repeat),
        "interop": interop_table,
    }
    for name, table in tables.items():
        if args.only in (None, name):
            table()


if __name__ == "__main__":
    main()
