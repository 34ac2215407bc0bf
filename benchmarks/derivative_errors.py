"""derivative's "adaptive" error estimates (n >= 2) against the true error.

Run: ``python benchmarks/derivative_errors.py [--orders 2 3 4 5 6]``

For smooth functions, some with complex poles about 1 from the real points
(``1/(1+x**2)``, ``atan``, ``log(1+x**2)``, ``sqrt(1+x**2)``, ``tanh``), at 81
points from -4 to 4: how many estimates are below the true error (of the
finite ones), the largest true error over its estimate, the median estimate
over the true error (how pessimistic it is), how many are inf, and the largest
error itself, ``|d - exact| / max(|exact|, 1)``. Exact
derivatives from mpmath (``pip install mpmath``) at 30 digits.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import xpdiff as xd


def functions(mp):
    """name: (func of NumPy arrays, the same of mpmath numbers)."""
    return {
        "sin": (np.sin, mp.sin),
        "exp": (np.exp, mp.exp),
        "1/(1+x^2)": (lambda z: 1 / (1 + z * z), lambda t: 1 / (1 + t * t)),
        "atan": (np.arctan, mp.atan),
        "log(1+x^2)": (lambda z: np.log1p(z * z), lambda t: mp.log(1 + t * t)),
        "sqrt(1+x^2)": (lambda z: np.sqrt(1 + z * z), lambda t: mp.sqrt(1 + t * t)),
        "tanh": (np.tanh, mp.tanh),
    }


def main() -> None:
    import mpmath

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, nargs="*", default=[2, 3, 4, 5, 6])
    orders = parser.parse_args().orders
    warnings.simplefilter("ignore")
    mpmath.mp.dps = 30
    x = np.linspace(-4.0, 4.0, 81) + 0.0123  # off the functions' symmetric points
    columns = ("under", "worst err/est", "median est/err", "inf", "max rel err")
    print(
        f"{'n':>2} {'func':>12} {columns[0]:>7} {columns[1]:>14} {columns[2]:>15} {columns[3]:>4}"
        f" {columns[4]:>11}"
    )
    for n in orders:
        for name, (func, exact_func) in functions(mpmath).items():
            exact = np.array([float(mpmath.diff(exact_func, mpmath.mpf(float(t)), n)) for t in x])
            res = xd.derivative(func, x, n=n, full_output=True)
            error = np.abs(res.value - exact)
            estimate = np.asarray(res.error)
            finite = np.isfinite(estimate)
            under = int(np.sum(error[finite] > estimate[finite]))
            worst = np.max(error[finite] / estimate[finite])
            median = np.median(estimate[finite] / np.maximum(error[finite], 1e-300))
            # the accuracy itself: relative, except where the derivative crosses 0
            largest = np.max(error / np.maximum(np.abs(exact), 1.0))
            print(
                f"{n:>2} {name:>12} {under:>3}/{int(finite.sum()):<3} {worst:14.1e} "
                f"{median:15.1e} {int(np.sum(~finite)):>4} {largest:11.1e}"
            )


if __name__ == "__main__":
    main()
