"""derivative's Richardson steps for n >= 2: the largest error by order and range of x.

Run: ``python benchmarks/derivative_steps.py [--levels R ...] [--high]``

For exp, sin, log1p and sqrt, elementwise at 40 points in each range of x
(0.01 to 0.1, 0.1 to 1, 1 to 3, 3 to 30), in float64 and float32: the largest
``|d - exact| / max(|exact|, 1)`` over the four functions for n = 2 to 6, with
``method="Richardson"``'s default settings (``derivative_schemes``'
``RICHARDSON_STEPS``, ``LOW_PRECISION_STEPS``, ``HIGH_ORDER_ZERO_TOL``).
Relative steps ``d |x|`` suit a function that varies on the scale of x; sin
and exp far from 0 vary on a shorter one, where "adaptive" (printed beside)
is the method. ``--levels R ...`` prints "adaptive" also with the ladder's
``r`` = R (``method_args={"r": R}``; the default is 8), in float64: what fewer
levels, and so fewer points per element, cost in accuracy. ``--high`` prints
instead, for n = 7 to 10, "Richardson"'s largest error on exp, sin and cos
at 71 points from -3 to 3 (and 0.01 to 0.1) for relative steps ``d`` from 0.3
to 1 (``eps`` the same), the default marked: how ``RICHARDSON_STEPS`` was
chosen for those orders (a ``d`` that leaves only rounding noise is refused:
"refused").
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np

import xpdiff as xd

FUNCTIONS = {
    "exp": (np.exp, lambda x, n: np.exp(x)),
    "sin": (np.sin, lambda x, n: np.sin(x + n * np.pi / 2)),
    "log1p": (np.log1p, lambda x, n: (-1) ** (n - 1) * math.factorial(n - 1) / (1 + x) ** n),
    "sqrt": (np.sqrt, lambda x, n: np.prod([0.5 - k for k in range(n)]) * x ** (0.5 - n)),
}
RANGES = ((0.01, 0.1), (0.1, 1.0), (1.0, 3.0), (3.0, 30.0))
ORDERS = (2, 3, 4, 5, 6)


def worst(method: str, dtype, lo: float, hi: float, n: int, args=None) -> float:
    x = np.linspace(lo, hi, 40).astype(dtype)
    errors = []
    for func, exact in FUNCTIONS.values():
        d = xd.derivative(func, x, n=n, method=method, method_args=args)
        d = np.asarray(d, dtype=np.float64)
        e = exact(x.astype(np.float64), n)
        errors.append(float(np.max(np.abs(d - e) / np.maximum(np.abs(e), 1.0))))
    return max(errors)


HIGH_ORDERS = (7, 8, 9, 10)
HIGH_STEPS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
HIGH_FUNCTIONS = {
    "exp": (np.exp, lambda x, n: np.exp(x)),
    "sin": (np.sin, lambda x, n: np.sin(x + n * np.pi / 2)),
    "cos": (np.cos, lambda x, n: np.cos(x + n * np.pi / 2)),
}


def high_orders() -> None:
    """n = 7 .. 10, "Richardson": the largest error per function and step d."""
    from xpdiff._function.derivative_schemes import RICHARDSON_STEPS

    x = np.concatenate([np.linspace(-3.0, 3.0, 61), np.linspace(0.01, 0.1, 10)])
    print(f"{'n':>3} {'d':>5}  " + " ".join(f"{name:>8}" for name in HIGH_FUNCTIONS))
    for n in HIGH_ORDERS:
        for d in HIGH_STEPS:
            cells = []
            for func, exact in HIGH_FUNCTIONS.values():
                try:
                    value = xd.derivative(
                        func, x, n=n, method="Richardson", method_args={"d": d, "eps": d}
                    )
                except ValueError:
                    cells.append(f"{'refused':>8}")
                    continue
                e = exact(x, n)
                cells.append(f"{np.max(np.abs(value - e) / np.maximum(np.abs(e), 1.0)):8.1e}")
            mark = "  default" if RICHARDSON_STEPS[n] == d else ""
            print(f"{n:>3} {d:5.1f}  {' '.join(cells)}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="*", default=[], metavar="R")
    parser.add_argument("--high", action="store_true", help="n = 7 to 10, Richardson's d")
    arguments = parser.parse_args()
    if arguments.high:
        high_orders()
        return
    levels = arguments.levels
    warnings.simplefilter("ignore")  # sqrt's far points at small x: NaN, counted as such
    orders = " ".join(f"{'n=' + str(n):>8}" for n in ORDERS)
    print(f"{'dtype':>8} {'x from':>7} {'to':>5}  {orders}")
    for dtype in (np.float64, np.float32):
        for lo, hi in RANGES:
            runs = [("Richardson", None), ("adaptive", None)]
            if dtype == np.float64:
                runs += [("adaptive", {"r": r}) for r in levels]
            for method, args in runs:
                errors = " ".join(f"{worst(method, dtype, lo, hi, n, args):8.0e}" for n in ORDERS)
                name = np.dtype(dtype).name
                label = method if args is None else f"{method} r={args['r']}"
                print(f"{name:>8} {lo:7g} {hi:5g}  {errors}  {label}")


if __name__ == "__main__":
    main()
