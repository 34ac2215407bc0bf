"""derivative beside values that are not finite: how many estimates are finite and wrong.

Run: ``python benchmarks/derivative_holes.py [--method adaptive|Richardson] [--x0 X]``

sin at x = 1 (or ``--x0``: at pi its even derivatives are 0), n = 1 to 6,
with NaN beyond an edge ``x +- delta``, in a hole ``(delta, 2 delta)`` away
from x, or at the single point ``x +- delta``, for 41 values of delta from
1e-6 to 1 (both sides: 1476 calls). Counts, per order,
the estimates that are NaN, finite and within 1e-3 of the exact derivative
(relative, or absolute where it is below 1) and within their error estimate
(``full_output``), and finite but wrong: off by more than that or by more than
their error estimate;
for those, the smallest and largest relative error, and how many are beyond
their error estimate. Where the ladder or the pilot met a NaN, "adaptive"
keeps an estimate only where its rank is at most a tenth of the larger of it
and func's scale over the uncapped step; "Richardson" makes every element whose
points met one NaN.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import xpdiff as xd

SIN_DERIVATIVES = (
    np.cos,
    lambda t: -np.sin(t),
    lambda t: -np.cos(t),
    np.sin,
    np.cos,
    lambda t: -np.sin(t),
)


def holed(kind: str, side: float, x0: float, delta: float):
    """sin with NaN beyond ``x0 + side delta`` ("edge"), between ``delta`` and ``2 delta``
    ("hole") or at that one point ("point")."""

    def f(z):
        d = (z - x0) * side
        if kind == "edge":
            out = d > delta
        elif kind == "hole":
            out = (d > delta) & (d < 2 * delta)
        else:
            out = np.abs(d - delta) <= 1e-12 * delta
        return np.where(out, np.nan, np.sin(z))

    return f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="adaptive", choices=("adaptive", "Richardson"))
    parser.add_argument("--x0", type=float, default=1.0, help="the point (default 1)")
    args = parser.parse_args()
    x0 = args.x0
    print(f"derivative of sin beside NaN at x = {x0:g}, method {args.method!r}")
    print(
        f"{'n':>2} {'calls':>6} {'NaN':>5} {'right':>6} {'wrong':>6} {'closest wrong':>14} "
        f"{'worst wrong':>12} {'over error':>10}"
    )
    totals = np.zeros(4, dtype=int)
    for n in range(1, 7):
        exact = SIN_DERIVATIVES[n - 1](x0)
        counts, closest, worst, over = np.zeros(4, dtype=int), np.inf, 0.0, 0
        for side in (1.0, -1.0):
            for kind in ("edge", "hole", "point"):
                for delta in np.geomspace(1e-6, 1.0, 41):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        res = xd.derivative(
                            holed(kind, side, x0, delta),
                            np.array([x0]),
                            n=n,
                            method=args.method,
                            full_output=True,
                        )
                    value, error = float(res.value[0]), float(res.error[0])
                    counts[0] += 1
                    miss = abs(value - exact)
                    if np.isnan(value):
                        counts[1] += 1
                    elif miss <= 1e-3 * max(abs(exact), 1.0) and miss <= error:
                        counts[2] += 1
                    else:
                        counts[3] += 1
                        closest = min(closest, miss / max(abs(exact), 1.0))
                        worst = max(worst, miss / max(abs(exact), 1.0))
                        over += miss > error
        totals += counts
        shown = f"{closest:14.2g} {worst:12.2g}" if counts[3] else f"{'-':>14} {'-':>12}"
        print(
            f"{n:>2} {counts[0]:>6} {counts[1]:>5} {counts[2]:>6} {counts[3]:>6} {shown} "
            f"{over:>10}"
        )
    print(f"{'all':>2} {totals[0]:>6} {totals[1]:>5} {totals[2]:>6} {totals[3]:>6}")
    print(
        "right: within 1e-3 of the exact derivative (relative, absolute below 1) and "
        "within its error "
        "estimate; wrong: finite and not right; closest and worst wrong: the smallest and "
        "largest relative error among the wrong ones; over error: how many of them are "
        "farther from the exact derivative than their error estimate."
    )


if __name__ == "__main__":
    main()
