"""Function mode's fixed cost against n: xd.grad's time over one bare call of f on its points.

Run: ``python benchmarks/bench_fixed_cost.py [--repeat N] [--plot PNG]``

For a cheap vectorized f (``sum(exp(x) - x)``, numDeriv's sc2 without
weights) and n = 1 to 10,000, times ``xd.grad(f, x, method)`` for numDeriv's
Richardson (r = 4: 8n points) and simple (forward difference: n points),
and one bare call of f on the same points, built beforehand (the floor: what
any batched method must pay). Their ratio is xpdiff's fixed cost: its
Python, the points it writes, the call at x, the combination. Each ratio is
xd.grad's best time over the floor's best, the two timed in turns (a
shared machine's load falls on both). Richardson stops at n = 3000 (8n² points'
coordinates: 576 MB there, 6.4 GB at 10,000). Last, the same f given as a bound
method made anew at every call (``grad(model.loss, x)``) beside a function, and
``derivative(np.sin, x)`` beside ``derivative(lambda z: np.sin(z), x)``
(``func_kinds``: ratio 1 where both are remembered after the mixing check).
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from bench_grad import richardson_batch
from plotting import line_plot

import xpdiff as xd

SIZES = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000]
#: largest n per method (the floor's batch: n x points float64)
LARGEST = {"Richardson": 3000, "simple": 10000}


def cheap(x):
    """A cheap vectorized scalar function (numDeriv's sc2 without weights)."""
    return np.sum(np.exp(x) - x, axis=0)


def simple_batch(x):
    """The n points of numDeriv's simple method (forward differences, step 1e-4)."""
    n = x.shape[0]
    points = np.repeat(x[:, None], n, axis=1)
    points[np.arange(n), np.arange(n)] += 1e-4
    return points


BATCHES = {"Richardson": richardson_batch, "simple": simple_batch}


def in_turns(first, second, repeat: int) -> tuple[float, float]:
    """Best times of two calls timed run by run in turns, each run ~2 ms or one call."""
    numbers = []
    for fn in (first, second):
        start = time.perf_counter()
        fn()
        numbers.append(max(1, int(0.002 / max(time.perf_counter() - start, 1e-7))))
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for k, fn in enumerate((first, second)):
            start = time.perf_counter()
            for _ in range(numbers[k]):
                fn()
            times[k].append((time.perf_counter() - start) / numbers[k])
    return min(times[0]), min(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--plot", help="write the figure to this PNG")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("xd.grad of sum(exp(x) - x) over one bare call of f on its points (best of N, in turns)")
    print(
        f"{'n':>6} {'method':>11} {'points':>7} {'xd.grad ms':>11} {'floor ms':>10} {'ratio':>7}"
    )
    series: dict[str, tuple[list, list]] = {method: ([], []) for method in BATCHES}
    for n in args.sizes:
        x = rng.uniform(-1.5, 1.5, n)
        for method, batch in BATCHES.items():
            if n > LARGEST[method]:
                continue
            points = batch(x)
            repeat = args.repeat if n <= 1000 else max(3, args.repeat // 3)
            ours, floor = in_turns(
                partial(xd.grad, cheap, x, method), partial(cheap, points), repeat
            )
            series[method][0].append(n)
            series[method][1].append(ours / floor)
            print(
                f"{n:>6} {method:>11} {points.shape[1]:>7} {ours * 1e3:11.3f} "
                f"{floor * 1e3:10.3f} {ours / floor:7.2f}",
                flush=True,
            )
            del points
    func_kinds(args.repeat)
    if args.plot:
        line_plot(
            args.plot,
            {"grad": {f"xd.grad, {m}": s for m, s in series.items()}},
            title="Function mode's fixed cost: xd.grad time / one call of f on its points",
            xlabel="n (coordinates)",
            ylabel="ratio to the floor (1 = no overhead)",
            note="python benchmarks/bench_fixed_cost.py --plot ... (shared 2-core machine)",
        )


class Model:
    """f as a method: ``model.loss`` is a new bound method object at every access."""

    def loss(self, x):
        return cheap(x)


def func_kinds(repeat: int) -> None:
    """The same f given as a function and as what a user's code often passes instead:
    a bound method (``grad(model.loss, x)`` in a loop) and a NumPy ufunc
    (``derivative(np.sin, x)``). A func that passed the mixing check is remembered
    and skips its two points (and takes the quick path) on later calls; a bound method,
    made anew at each access, and a ufunc, which cannot be referenced weakly, were
    checked on every call until they were remembered too (by function and object;
    held)."""
    x = np.random.default_rng(1).uniform(-1.5, 1.5, 10)
    model = Model()
    ours, plain = in_turns(lambda: xd.grad(model.loss, x), partial(xd.grad, cheap, x), repeat)
    print("\nThe same f given two ways (best of N, in turns; ratio 1: no difference)")
    print(
        f"  grad, n = 10:      model.loss {ours * 1e6:7.1f} us, a function "
        f"{plain * 1e6:7.1f} us, ratio {ours / plain:.2f}"
    )
    t = np.linspace(0.5, 3.0, 10_000)
    ours, plain = in_turns(
        partial(xd.derivative, np.sin, t), partial(xd.derivative, lambda z: np.sin(z), t), repeat
    )
    print(
        f"  derivative, 1e4 points: np.sin {ours * 1e3:7.2f} ms, lambda z: np.sin(z) "
        f"{plain * 1e3:7.2f} ms, ratio {ours / plain:.2f}"
    )


if __name__ == "__main__":
    main()
