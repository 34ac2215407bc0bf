"""Peak memory of function mode against the memory budget, per function and method.

Every row runs one derivative on NumPy under ``xd.memory_budget(budget)`` and
prints, side by side, in MiB: the budget, the result's size, func's own share
(the peak of func's allocations on the largest batch it was given, measured
alone), the peak of all traced allocations during the derivative (tracemalloc:
NumPy's arrays are traced; the caller's x is made before and not counted), and
the peak less func's share against the budget (xpdiff's own arrays: 1.00 or
less is within). Each row is warmed up first on a small problem, so that imports
and caches are not counted.

    python benchmarks/bench_memory.py            # every row
    python benchmarks/bench_memory.py --quick    # smaller problems
    python benchmarks/bench_memory.py --only jvp # the rows of one function
"""

from __future__ import annotations

import argparse
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import xpdiff as xd

MiB = 2**20


class Recorded:
    """func, recording the largest argument it is given (for its own share, measured later)."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func, self.largest = func, (0, (), np.float64)

    def __call__(self, x: Any) -> Any:
        if x.size > self.largest[0]:  # its shape alone: no array in the traced peak
            self.largest = (x.size, x.shape, x.dtype)
        return self.func(x)

    def share(self) -> float:
        """func's own peak on the largest argument it was given, MiB."""
        x = np.ones(self.largest[1], dtype=self.largest[2])
        tracemalloc.start()
        try:
            self.func(x)
            return tracemalloc.get_traced_memory()[1] / MiB
        finally:
            tracemalloc.stop()


def _peak(call: Callable[..., Any], *args: Any, **options: Any) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        out = call(*args, **options)
        return out, tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()


def _nbytes(out: Any) -> float:
    return float(np.asarray(getattr(out, "D", out)).nbytes) / MiB  # genD: its D


def _grad_func(x: Any) -> Any:
    return x[0] * x[1] + np.sum(np.sin(x), axis=0)


def _hessian_func(x: Any) -> Any:
    return np.sum(np.sin(x), axis=0) * x[0] + x[1] ** 3


def _cases(quick: bool) -> list[tuple[str, str, float, Callable[..., Any], Callable, Any]]:
    """(function, method, budget MiB, the call, func, x)."""
    rng = np.random.default_rng(0)
    scale = 10 if quick else 1
    batch = rng.uniform(0.5, 1.5, (10, 200_000 // scale))
    small_batch = rng.uniform(0.5, 1.5, (4, 100_000 // scale))
    jac_x = rng.uniform(0.5, 1.5, 50)
    outs = np.linspace(0.5, 1.5, 20_000 // scale)
    elements = rng.uniform(0.5, 1.5, 1_000_000 // scale)
    point = rng.uniform(0.5, 1.5, 200_000 // scale)

    def jac_func(x: Any) -> Any:
        return np.sin(np.multiply.outer(outs, np.sum(x, axis=0)))

    rows: list = []
    for method in ("Richardson", "simple", "complex", "adaptive"):
        rows.append(("grad", method, 32 / scale, xd.grad, _grad_func, batch))
    for method in ("Richardson", "adaptive"):
        rows.append(("grad full_output", method, 64 / scale, xd.grad, _grad_func, batch[:, ::4]))
    for method in ("Richardson", "simple", "complex", "adaptive"):
        rows.append(("jacobian", method, 16, xd.jacobian, jac_func, jac_x))
    for method in ("Richardson", "complex", "adaptive"):
        rows.append(("hessian", method, 32 / scale, xd.hessian, _hessian_func, small_batch))
    rows.append(("genD", "Richardson", 32 / scale, xd.genD, _hessian_func, small_batch))
    for method in ("Richardson", "adaptive"):
        rows.append(("derivative n=1", method, 16 / scale, xd.derivative, np.sin, elements))
        rows.append(("derivative n=2", method, 16 / scale, _second, np.sin, elements))
    vector = elements[: 100_000 // scale]
    for method in ("Richardson", "simple", "complex"):
        rows.append(("jvp k=1", method, 16 / scale, _product(xd.jvp, 1), np.sin, vector))
        rows.append(("jvp k=4", method, 16 / scale, _product(xd.jvp, 4), np.sin, vector))
    # a point and its values alone are half the budget: the engine's floor
    rows.append(
        ("jvp k=1 (long x)", "Richardson", 16 / scale, _product(xd.jvp, 1), np.sin, elements)
    )
    for n, k, budget in ((1_000, 1, 4.0), (300, 40, 8.0), (10_000, 1, 64.0), (10_000, 1, 4.0)):
        name = f"hvp k={k} n={n}"
        rows.append((name, "Richardson", budget, _product(xd.hvp, k), _hvp_func, point[:n]))
    return rows


def _second(func: Any, x: Any, method: str, **options: Any) -> Any:
    return xd.derivative(func, x, n=2, method=method, **options)


#: the directions of each x (by id), made before the traced call: the caller's arrays
_DIRECTIONS: dict[int, Any] = {}


def _directions(x: Any, k: int) -> Any:
    """``k`` directions ``(n, k)``, one as ``(n,)``, made once per x and k, untraced."""
    key = id(x) * 64 + k
    if key not in _DIRECTIONS:
        v = np.stack([np.ones_like(x), np.cos(x), -x, np.full_like(x, 0.5)], axis=1)
        if k > 4:
            v = np.random.default_rng(k).standard_normal((x.size, k))
        _DIRECTIONS[key] = (x, v[:, 0].copy() if k == 1 else v[:, :k])  # x kept: its id
    return _DIRECTIONS[key][1]


def _product(function: Callable[..., Any], k: int) -> Callable[..., Any]:
    """``function(func, x, v)`` (jvp or hvp) with ``k`` directions of x's (see ``k``)."""

    def call(func: Any, x: Any, method: str, **options: Any) -> Any:
        return function(func, x, _directions(x, k), method=method, **options)

    call.k = k  # type: ignore[attr-defined]
    return call


def _hvp_func(x: Any) -> Any:
    return np.sum(np.sin(x) * x[::-1], axis=0)


def _warm_x(x: Any) -> Any:
    return x[..., :8] if x.ndim > 1 else x[:8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="problems 10 times smaller")
    parser.add_argument("--only", default="", help="the rows whose function starts with this")
    args = parser.parse_args()
    print("Peak traced memory against the memory budget, MiB (tracemalloc, NumPy)")
    header = (
        f"  {'function':17s} {'method':10s} {'budget':>6s} {'result':>6s} {'func':>6s} "
        f"{'peak':>7s} {'peak-func':>9s} {'/budget':>7s}"
    )
    print(header)
    for name, method, budget, call, func, x in _cases(args.quick):
        if not name.startswith(args.only):
            continue
        full = name.endswith("full_output")
        recorded = Recorded(func)
        if hasattr(call, "k"):
            _directions(x, call.k)  # the caller's, untraced
        with xd.memory_budget(int(budget * MiB)):
            call(func, _warm_x(x), method=method, full_output=full)  # imports and caches
            out, peak = _peak(call, recorded, x, method=method, full_output=full)
        result = _nbytes(out[0] if full else out)
        share = recorded.share()
        own = peak - share
        print(
            f"  {name:17s} {method:10s} {budget:6.1f} {result:6.1f} {share:6.1f} "
            f"{peak:7.1f} {own:9.1f} {own / budget:7.2f}"
        )


if __name__ == "__main__":
    main()
