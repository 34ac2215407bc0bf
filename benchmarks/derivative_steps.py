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
instead, for n = 7 to 10, "Richardson"'s largest error (over the largest
derivative) at 31 points from -3 to 3 for relative steps ``d`` from 0.2 to
0.8 (``eps`` the same), on entire functions and on functions with poles at
+-i, the default marked: how ``RICHARDSON_STEPS`` was chosen for those orders,
the step of smallest worst error (a ``d`` that leaves only rounding noise is
refused: "refused").
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
HIGH_STEPS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)


def _runge(x, n):
    """The n-th derivative of 1 / (1 + x**2) = Im(1 / (x - i))."""
    return np.imag((-1) ** n * math.factorial(n) / (x - 1j) ** (n + 1))


def _gauss(x, n):
    """The n-th derivative of exp(-x**2): (-1)**n H_n(x) exp(-x**2), H_n Hermite's."""
    return (-1) ** n * np.polynomial.hermite.hermval(x, [0] * n + [1]) * np.exp(-x * x)


#: entire functions, and functions with poles at +-i (1 from the real points): no fixed
#: step suits both at these orders
HIGH_FUNCTIONS = {
    "exp": (np.exp, lambda x, n: np.exp(x)),
    "sin": (np.sin, lambda x, n: np.sin(x + n * np.pi / 2)),
    "cosh": (np.cosh, lambda x, n: np.cosh(x) if n % 2 == 0 else np.sinh(x)),
    "exp(-x^2)": (lambda z: np.exp(-z * z), _gauss),
    "1/(1+x^2)": (lambda z: 1 / (1 + z * z), _runge),
    "atan": (np.arctan, lambda x, n: _runge(x, n - 1)),
}


def high_orders() -> None:
    """n = 7 .. 10, "Richardson": the largest error per function and step d."""
    from xpdiff._function.derivative_schemes import RICHARDSON_STEPS

    x = np.linspace(-3.0, 3.0, 31) + 0.0123  # off the functions' symmetric points
    print(f"{'n':>3} {'d':>5}  " + " ".join(f"{name:>9}" for name in HIGH_FUNCTIONS))
    for n in HIGH_ORDERS:
        for d in HIGH_STEPS:
            cells, worst = [], 0.0
            for func, exact in HIGH_FUNCTIONS.values():
                try:
                    value = xd.derivative(
                        func, x, n=n, method="Richardson", method_args={"d": d, "eps": d}
                    )
                except ValueError:
                    cells.append(f"{'refused':>9}")
                    worst = math.inf
                    continue
                e = exact(x, n)
                error = float(np.max(np.abs(value - e)) / np.max(np.abs(e)))
                worst = max(worst, error)
                cells.append(f"{error:9.1e}")
            mark = "  default" if RICHARDSON_STEPS[n] == d else ""
            print(f"{n:>3} {d:5.2f}  {' '.join(cells)}  worst {worst:7.1e}{mark}")


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
