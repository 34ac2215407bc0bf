"""Function mode's fixed cost, side by side in one run (issue 20's targets).

Run: ``python benchmarks/bench_function_mode.py [--repeat N]``. Prints, each
as a ratio to its reference timed in the same run:

- elementwise derivative at 1e6 points (``xd.grad(np.sin, x)``): the first
  call at a new size against a later call, and a later call against
  scipy.differentiate.derivative at equal or better accuracy (scipy's
  tolerances loosened until its error is no smaller than xd.grad's, and at
  its defaults);
- grad at n = 2 .. 1000, Richardson and complex step, against the minimal
  hand-written batched NumPy version of the same points and weights
  (``bench_grad.minimal_richardson``/``minimal_complex``, including the call
  at x), and against one bare call of func on its points (the floor).

Timings are best-of-N wall time, those of one table row taken in turns
(:func:`interleaved`) so that a load that drifts during the run does not
skew their ratios; on a shared machine only the ratios mean something.
"""

from __future__ import annotations

import argparse
import math
import time
from functools import partial

import numpy as np
from bench_grad import complex_batch, minimal_complex, minimal_richardson, richardson_batch
from timing import best

import xpdiff as xd


def cheap(x):
    """A cheap vectorized scalar function (numDeriv's sc2 without weights)."""
    return np.sum(np.exp(x) - x, axis=0)


def elementwise(repeat: int) -> None:
    from scipy import differentiate

    print("elementwise derivative of sin at 1e6 points (Richardson)")
    firsts, laters = [], []
    for k in range(repeat):
        x = np.linspace(0.1, 2.0, 10**6 + k + 1)  # a size not seen before
        start = time.perf_counter()
        xd.grad(np.sin, x)
        firsts.append(time.perf_counter() - start)
        later, g = best(partial(xd.grad, np.sin, x), 3)
        laters.append(later)
    first, later = min(firsts), min(laters)
    error = float(np.max(np.abs(g - np.cos(x))))
    print(f"  first call {first * 1e3:8.1f} ms, later {later * 1e3:8.1f} ms: {first / later:.2f}x")
    # scipy at equal accuracy: its tolerance loosened (rtol 1e-9, 1e-8, ... 1e-3, atol 0)
    # until its error is no smaller than xd.grad's, or as far as it goes
    for rtol in (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3):
        tolerances = {"rtol": rtol, "atol": 0.0}
        res = differentiate.derivative(np.sin, x, tolerances=tolerances)
        if float(np.max(np.abs(res.df - np.cos(x)))) >= error:
            break
    for label, tolerances in (
        (f"scipy (rtol {rtol:.0e}, atol 0)", {"rtol": rtol, "atol": 0.0}),
        ("scipy (rtol 1e-9)", {"rtol": 1e-9}),
        ("scipy (defaults)", None),
    ):
        kwargs = {} if tolerances is None else {"tolerances": tolerances}
        t, res = best(partial(differentiate.derivative, np.sin, x, **kwargs), 3)
        e = float(np.max(np.abs(res.df - np.cos(x))))
        print(
            f"  xd.grad {later * 1e3:8.1f} ms (error {error:.1e}) vs {label} {t * 1e3:8.1f} ms "
            f"(error {e:.1e}, {int(np.max(res.nfev))} points): {later / t:.2f}x"
        )


def interleaved(functions, rounds: int, min_seconds: float = 0.005) -> list[float]:
    """Best time of one call of each function, timed in turns (round robin).

    On a shared machine the load drifts within seconds; timing the functions
    one after the other in every round gives them the same conditions, so
    that their ratios are stable where separate best-of-N runs are not.
    """
    for function in functions:
        function()  # warm-up
    start = time.perf_counter()
    functions[0]()
    number = max(1, int(min_seconds / max(time.perf_counter() - start, 1e-7)))
    best_times = [math.inf] * len(functions)
    for _ in range(rounds):
        for i, function in enumerate(functions):
            start = time.perf_counter()
            for _ in range(number):
                function()
            best_times[i] = min(best_times[i], (time.perf_counter() - start) / number)
    return best_times


def fixed_cost(sizes, repeat: int) -> None:
    print()
    print("grad of a cheap vectorized f: ratio to the minimal batched NumPy version and floor")
    print(
        f"{'n':>5} {'Richardson ms':>14} {'x minimal':>10} {'x floor':>8} "
        f"{'complex ms':>11} {'x minimal':>10} {'x floor':>8}"
    )
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.uniform(-1.5, 1.5, n)
        rounds = 12 * repeat if n <= 200 else max(2, repeat)
        batch, cbatch = richardson_batch(x), complex_batch(x)
        t_r, t_mr, t_fr, t_c, t_mc, t_fc = interleaved(
            [
                partial(xd.grad, cheap, x),
                partial(minimal_richardson, cheap, x),
                partial(cheap, batch),
                partial(xd.grad, cheap, x, "complex"),
                partial(minimal_complex, cheap, x),
                partial(cheap, cbatch),
            ],
            rounds,
        )
        print(
            f"{n:>5} {t_r * 1e3:14.3f} {t_r / t_mr:10.2f} {t_r / t_fr:8.2f} "
            f"{t_c * 1e3:11.3f} {t_c / t_mc:10.2f} {t_c / t_fc:8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 10, 100, 1000])
    parser.add_argument("--skip-elementwise", action="store_true")
    args = parser.parse_args()
    if not args.skip_elementwise:
        elementwise(args.repeat)
    fixed_cost(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
