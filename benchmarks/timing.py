"""Best-of-N wall-clock timing shared by the benchmark scripts."""

from __future__ import annotations

import time


def best(fn, repeat: int):
    """Call ``fn`` once to warm up, then ``repeat`` times; return (best seconds, last result)."""
    out = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out
