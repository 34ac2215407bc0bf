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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


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


def _start(src: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child()
        return
    if not (options.old and options.new):
        parser.error("give the old and the new tree's src folders")
    procs = [_start(options.old), _start(options.new)]
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
    print(f"old: {options.old}\nnew: {options.new}\nbest of {options.rounds} rounds\n")
    print(f"{'call':34} {'old µs':>10} {'new µs':>10} {'new/old':>8}")
    for name in common:
        old, new = best[0][name] * 1e6, best[1][name] * 1e6
        print(f"{name:34} {old:10.1f} {new:10.1f} {new / old:8.2f}")


if __name__ == "__main__":
    main()
