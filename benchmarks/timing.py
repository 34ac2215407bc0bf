"""Best-of-N wall-clock timing shared by the benchmark scripts."""

from __future__ import annotations

import time


def best(fn, repeat: int, *, min_seconds: float = 0.02):
    """Best time of one call of ``fn`` over ``repeat`` runs; return (seconds, last result).

    One warm-up call first, then one that sets the count: a fast ``fn`` is
    called several times per run, as many as make a run last ``min_seconds``
    (as timeit's autorange does), so that microsecond calls are not lost in
    the timer's resolution.
    """
    fn()  # a first call's one-time costs (imports, caches, checks) set no count
    start = time.perf_counter()
    out = fn()
    once = time.perf_counter() - start
    number = max(1, int(min_seconds / max(once, 1e-7)))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            out = fn()
        times.append((time.perf_counter() - start) / number)
    return min(times), out
