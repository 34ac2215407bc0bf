"""Two source trees of xpdiff side by side: the same public calls, timed in one run.

Run: ``python benchmarks/compare_trees.py OLD_SRC NEW_SRC [--rounds N]``, for
example with the tree before a change checked out by ``git worktree add
/tmp/old <rev>``: ``python benchmarks/compare_trees.py /tmp/old/src src``.

Each tree runs in its own Python process (``PYTHONPATH`` set to its ``src``);
the parent asks the two processes in turn, round after round, to time every
call (best of several loops each round), so that both see the same load on a
shared machine, and prints each call's best time per tree and their ratio
(new / old: below 1 is faster). The calls are the everyday ones of
``bench_gradient.py`` (gradient: 1-D uniform, coordinates with edge_order=2,
64x64 on both axes) and ``bench_grad.py`` (grad Richardson and complex step
on numDeriv's sc2 example, jacobian, hessian, adaptive), through public
functions only, so any two trees of xpdiff can be compared.

Both processes run under the same fixed allocator settings
(:data:`ALLOCATOR`, in their environment), so that a ratio compares code,
not malloc's state. glibc's malloc serves a request of at least its mmap
threshold (128 KiB at start) with a fresh ``mmap``, whose pages fault in
one by one when first written, and raises the threshold to the size of
each mmapped block the process frees (up to 32 MiB). How fast a call that
allocates 0.5-1 MB of temporaries runs thus depends on which large arrays
the process happened to free before: grad Richardson at n=100 took about
200 µs in one process and 850-1150 µs in another, the same tree in both
(two trees that differ little there: 199 against 1103 µs, 5.55x; 1.05x with
the settings below, and the numpy.gradient row 1.68x, then 1.00x). With
the threshold fixed at glibc's ceiling, 32 MiB, and the trim threshold at twice that (what
glibc's own rule would reach), a freed block is reused from the heap in
both processes alike, the steady state of a process that has freed large
arrays; ``--dynamic-malloc`` leaves the allocator's defaults instead (the
parent's environment as it is). Other allocators ignore these variables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: the children's allocator settings: glibc's mmap threshold fixed at its dynamic
#: ceiling and its trim threshold at twice that (see the module's docstring)
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}


def _calls():
    """name -> zero-argument callable, built from the public API only."""
    import numpy as np

    import xpdiff as xd

    rng = np.random.default_rng(0)
    calls = {}
    for size in (10, 100, 1000, 100_000):
        f = rng.standard_normal(size)
        coords = np.cumsum(rng.uniform(0.5, 1.5, size))
        calls[f"gradient 1-D n={size}"] = lambda f=f: xd.gradient(f)
        calls[f"gradient 1-D n={size} h=0.1"] = lambda f=f: xd.gradient(f, 0.1)
        calls[f"gradient coords edge 2 n={size}"] = lambda f=f, c=coords: xd.gradient(
            f, c, edge_order=2
        )
        if size == 100_000:  # the same NumPy call in both processes: their load, compared
            calls["numpy.gradient coords edge 2 n=100000"] = lambda f=f, c=coords: np.gradient(
                f, c, edge_order=2
            )
    grid = rng.standard_normal((64, 64))
    calls["gradient 64x64"] = lambda: xd.gradient(grid)

    def sc2(x):
        n = x.shape[0]
        w = np.arange(1, n + 1, dtype=np.float64).reshape((n,) + (1,) * (x.ndim - 1))
        return np.sum(w * (np.exp(x) - x), axis=0) / n

    def vector(x):
        return np.stack([np.sin(x[0]) * x[1], np.exp(x[1]) - x[0]])

    for n in (2, 10, 100):
        x = np.linspace(0.5, 1.5, n)
        calls[f"grad Richardson n={n}"] = lambda x=x: xd.grad(sc2, x)
        calls[f"grad complex n={n}"] = lambda x=x: xd.grad(sc2, x, method="complex")
        calls[f"grad simple n={n}"] = lambda x=x: xd.grad(sc2, x, method="simple")
    x2 = np.array([0.3, 0.7])
    calls["jacobian 2x2"] = lambda: xd.jacobian(vector, x2)
    calls["hessian n=5"] = lambda: xd.hessian(sc2, np.linspace(0.5, 1.5, 5))
    calls["grad adaptive n=5"] = lambda: xd.grad(sc2, np.linspace(0.5, 1.5, 5), method="adaptive")
    return calls


def _best(fn, seconds: float = 0.02) -> float:
    """Best time of one call over a few loops of about ``seconds`` each."""
    fn()
    loops, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        loops *= 4
    best = elapsed / loops
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def _child() -> None:
    """Answer each line of stdin with one JSON line: every call's best time."""
    calls = _calls()
    print(json.dumps(list(calls)), flush=True)
    for _ in sys.stdin:
        print(json.dumps({name: _best(fn) for name, fn in calls.items()}), flush=True)


def _start(src: str, allocator: dict[str, str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), **allocator)
    return subprocess.Popen(
        [sys.executable, __file__, "--child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", nargs="?", help="the old tree's src folder")
    parser.add_argument("new", nargs="?", help="the new tree's src folder")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--dynamic-malloc",
        action="store_true",
        help="leave glibc's malloc thresholds dynamic (its defaults) in both processes",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child()
        return
    if not (options.old and options.new):
        parser.error("give the old and the new tree's src folders")
    allocator = {} if options.dynamic_malloc else ALLOCATOR
    procs = [_start(options.old, allocator), _start(options.new, allocator)]
    names = [json.loads(p.stdout.readline()) for p in procs]
    common = [name for name in names[0] if name in names[1]]
    best: list[dict] = [{}, {}]
    for _ in range(options.rounds):
        for k, proc in enumerate(procs):
            proc.stdin.write("run\n")
            proc.stdin.flush()
            times = json.loads(proc.stdout.readline())
            for name in common:
                best[k][name] = min(best[k].get(name, float("inf")), times[name])
    for proc in procs:
        proc.stdin.close()
        proc.wait()
    print(f"old: {options.old}\nnew: {options.new}\nbest of {options.rounds} rounds")
    settings = " ".join(f"{k}={v}" for k, v in allocator.items()) or "dynamic (glibc's defaults)"
    print(f"malloc: {settings}\n")
    print(f"{'call':34} {'old µs':>10} {'new µs':>10} {'new/old':>8}")
    for name in common:
        old, new = best[0][name] * 1e6, best[1][name] * 1e6
        print(f"{name:34} {old:10.1f} {new:10.1f} {new / old:8.2f}")


if __name__ == "__main__":
    main()
