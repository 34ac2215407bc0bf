"""Elementwise derivatives at many points against scipy.differentiate.derivative, side by side.

Run: ``python benchmarks/bench_elementwise.py [--size 1000000] [--repeat 3]``.

issue 20's targets at 1e6 points (``xd.grad(np.sin, x)``, the job of
scipy.differentiate.derivative):

- the first call at a new size against a later call, for Richardson and
  adaptive (each first call gets a size never seen before, after one call
  at another size: the process's very first call also pays for its first
  touch of memory, which is NumPy's and the allocator's, not xpdiff's);
- a later Richardson call against scipy.differentiate.derivative at equal or
  better accuracy. Both tools are run at several settings; each xpdiff row
  is compared with the fastest scipy row whose error is no smaller than
  xpdiff's (scipy given every chance: its settings that are more accurate
  than xpdiff's count too, when they are faster), and, where that is another
  one, with the scipy row of the closest accuracy no better than xpdiff's
  (equal accuracy). error = max |d - cos x|.

numDeriv's default step (``d`` = 1e-4) is chosen for functions of unknown
smoothness: on sin its rounding error dominates (about 2e-11). A larger
first step is the right one for a smooth function, and the rows with
``method_args`` show it: with scipy's own first step (0.5) and one level more
(``r`` = 5), numDeriv's Richardson is as accurate as scipy's defaults.
Timings are best-of-N wall time; on a shared machine only the ratios mean
something.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from timing import best

import xpdiff as xd

XD_SETTINGS = {
    "Richardson (numDeriv's defaults)": {},
    "Richardson d=0.01 r=3": {"method_args": {"d": 0.01, "r": 3}},
    "Richardson d=0.1": {"method_args": {"d": 0.1}},
    "Richardson d=0.5 r=5": {"method_args": {"d": 0.5, "r": 5}},
    "adaptive": {"method": "adaptive"},
}
SCIPY_SETTINGS = {
    "defaults": {},
    "maxiter=1": {"maxiter": 1},
    "order=6 maxiter=1": {"order": 6, "maxiter": 1},
    "order=4": {"order": 4},
}


def first_calls(size: int, repeat: int) -> None:
    print(f"first call at a new size against a later call ({size} points, sin)")
    for label, method in (("Richardson", "Richardson"), ("adaptive", "adaptive")):
        firsts, laters = [], []
        warm = np.linspace(0.1, 2.0, size // 2 + 3)  # the process's first call, not measured
        xd.grad(np.sin, warm, method=method)
        for k in range(repeat):
            x = np.linspace(0.1, 2.0, size + 7 * k + (method == "adaptive") + 1)
            start = time.perf_counter()
            xd.grad(np.sin, x, method=method)
            firsts.append(time.perf_counter() - start)
            laters.append(best(partial(xd.grad, np.sin, x, method=method), 2)[0])
        first, later = min(firsts), min(laters)
        times = f"first {first * 1e3:8.1f} ms  later {later * 1e3:8.1f} ms"
        print(f"  {label:10s} {times}  {first / later:5.2f}x")


def against_scipy(size: int, repeat: int) -> None:
    from scipy import differentiate

    x = np.linspace(0.1, 2.0, size)
    exact = np.cos(x)
    scipy_rows = []
    for label, kwargs in SCIPY_SETTINGS.items():
        t, res = best(partial(differentiate.derivative, np.sin, x, **kwargs), repeat)
        scipy_rows.append((label, t, float(np.max(np.abs(res.df - exact)))))
    print(f"\nlater calls at {size} points against scipy.differentiate.derivative")
    for label, t, e in scipy_rows:
        print(f"  scipy {label:28s} {t * 1e3:8.1f} ms  error {e:.1e}")
    for label, kwargs in XD_SETTINGS.items():
        t, g = best(partial(xd.grad, np.sin, x, **kwargs), repeat)
        e = float(np.max(np.abs(g - exact)))
        rivals = [row for row in scipy_rows if row[2] >= e]
        quickest = min((row[1] for row in rivals), default=np.inf)
        faster = [row for row in scipy_rows if row[1] < quickest]
        rival = min(rivals + faster, key=lambda row: row[1]) if rivals else None
        if rival is None:
            verdict = "less accurate than every scipy setting tried"
        else:
            verdict = f"{t / rival[1]:.2f}x scipy {rival[0]} (error {rival[2]:.1e})"
            # and the scipy setting whose accuracy is closest, no better than xd's
            close = min(rivals, key=lambda row: row[2])
            if close is not rival:
                verdict += f"; {t / close[1]:.2f}x scipy {close[0]} (error {close[2]:.1e})"
        print(f"  xd {label:31s} {t * 1e3:8.1f} ms  error {e:.1e}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    first_calls(options.size, options.repeat)
    against_scipy(options.size, options.repeat)


if __name__ == "__main__":
    main()
