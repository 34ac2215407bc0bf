"""The points' buffer kept between calls (``_host.empty_reused``) against fresh memory.

Run: ``python benchmarks/bench_page_faults.py [--repeat N] [--points 100000]``.

Fresh arrays of a few MiB cost a page fault per page they touch (glibc maps
them and unmaps them when they are freed). xpdiff keeps its NumPy points'
buffer for the next call; this prints, for the same calls in one run, the best
time of a call and its minor page faults (``getrusage``) with the buffer kept
(xpdiff's default) and with none kept (``REUSED_SHARE`` beyond any budget),
taken in turn, and their ratio. Linux and macOS (``resource``).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import xpdiff as xd
from xpdiff import _host


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(fn, number: int) -> tuple[float, float]:
    """Seconds and minor page faults per call over ``number`` calls."""
    before, start = faults(), time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number, (faults() - before) / number


def kept(on: bool) -> None:
    """The buffer kept (xpdiff's default share) or none (and the one kept let go)."""
    if on:
        _host.REUSED_SHARE = DEFAULT_SHARE
    else:
        _host.REUSED_SHARE = 2**62
        _host._reused[0] = None


DEFAULT_SHARE = _host.REUSED_SHARE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    x = np.random.default_rng(0).uniform(0.5, 3.0, args.points)
    xs = x[:1000]

    def vector(z):  # 1000 inputs, 1000 outputs: a Jacobian's batch of points
        return np.sin(z) * np.roll(z, 1, axis=0)

    cases = {
        "derivative sin n=1": lambda: xd.derivative(np.sin, x, n=1),
        "derivative sin n=3": lambda: xd.derivative(np.sin, x, n=3),
        "derivative exp n=4": lambda: xd.derivative(np.exp, x, n=4),
        "jacobian n=m=1000": lambda: xd.jacobian(vector, xs),
    }
    print(f"{'call':>22} | {'kept: ms':>9} {'faults':>7} | {'fresh: ms':>9} {'faults':>7} | ratio")
    print("-" * 72)
    for name, fn in cases.items():
        best = {True: (np.inf, 0.0), False: (np.inf, 0.0)}
        for _ in range(args.repeat):
            for on in (True, False):
                kept(on)
                fn()  # the first call after the switch: the buffer made (or let go)
                seconds, count = timed(fn, 5)
                if seconds < best[on][0]:
                    best[on] = (seconds, count)
        kept(True)
        (t1, f1), (t0, f0) = best[True], best[False]
        print(
            f"{name:>22} | {t1 * 1e3:9.1f} {f1:7.0f} | {t0 * 1e3:9.1f} {f0:7.0f} | {t1 / t0:5.2f}"
        )
    print("ratio: the time with the buffer kept over the time with fresh memory (below 1: faster)")


if __name__ == "__main__":
    main()
