"""The memory budget over a batch of base points: arrays of x's size counted, chunks if need be.

The engine (``engine.run``) plans the calls of func and the units of the
combination within the memory budget, counting the points of a call, the values
kept and the result that its caller declares. A method also holds arrays beside
them whose size grows with the number of base points: the steps per coordinate
and point, f(x), the adaptive method's length scales, the parts of the result
it assembles after the engine is done. :func:`over_points` counts them: it
runs a method with the budget less what they take, and where they would take
more than half the budget, over chunks of the base points, each a sub-problem of
its own (the derivatives at different base points never meet: the same
operations, though a matrix product over a block of base points may round a
unit in the last place differently from the whole batch's), joined into one
result along the last axis. Host-side
bookkeeping and the standard's ``concat``; NumPy results are written into one
array, so that they exist once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _backend
from .layout import itemsize_of
from .problem import Problem

__all__ = ["in_chunks", "one_point", "over_points", "point_bytes"]

#: the share of the budget that arrays of the batch's size may take before the batch is
#: split: the rest is the engine's, for the points of a call and their values
SHARE = 2


def point_bytes(problem: Problem, numbers: int) -> int:
    """Bytes of ``numbers`` numbers of x's dtype per base point, over the whole batch."""
    return numbers * problem.size * itemsize_of(problem.xp, problem.dtype)


def one_point(problem: Problem, f0: Any) -> Problem:
    """The problem of one base point (nothing to split) under the budget less f(x).

    What :func:`over_points` hands ``compute`` for one base point: the work's
    own count of its result decides, as without chunks; never less than half
    the budget (:data:`SHARE`).
    """
    floor = max(1, problem.budget // SHARE)
    return problem.with_budget(max(problem.budget - _nbytes(problem, f0), floor))


def over_points(
    problem: Problem,
    f0: Any,
    compute: Callable[[Problem, Any], Any],
    held: int,
    kept: int,
) -> Any:
    """``compute(problem, f0)`` with the arrays of the batch's size within the memory budget.

    ``held`` is how many numbers per base point ``compute`` holds outside what
    the engine counts (steps, f(x), scales, the parts of its result while it
    assembles them); ``kept`` how many its result holds per base point. Where
    ``held`` over the batch takes at most half the budget, ``compute`` runs
    once with the budget less that; otherwise over chunks of the base points
    (:func:`in_chunks`), each with what the joined result leaves, and the
    results (arrays whose last axis is the base points, in dicts or tuples)
    are joined. Where the result alone leaves less than a quarter of the
    budget, the chunks get that quarter: the result itself cannot be smaller
    (the budget's documented overshoot). ``f0`` is func at the base points,
    ``head + batch`` shaped.

    ``f0`` None: ``compute(part, None)`` evaluates func at the part's base
    points itself (``derivative``: an elementwise function's f(x) and the
    copy of x it is evaluated on, counted in ``held``), so that even that
    call goes chunk by chunk; ``compute`` counts what it holds in the
    budget it gets: the whole budget, or each chunk's whole share.

    ``compute``'s own work (the engine's calls and units, adaptive's
    selection) never gets less than half the budget (:data:`SHARE`): counted
    arrays that alone fill the budget (a result larger than it) cannot be
    made smaller by starving the work, which would then go one point or one
    output at a time. One base point (nothing to split) runs with the whole
    budget less f(x): the method's own count of its result decides, as
    without chunks.
    """
    size = problem.size
    if size <= 1:
        return compute(problem if f0 is None else one_point(problem, f0), f0)
    floor = max(1, problem.budget // SHARE)  # the work's share: never less
    budget = max(problem.budget - _nbytes(problem, f0), floor)  # f(x), held throughout
    whole = point_bytes(problem, held)
    if f0 is None and whole <= budget // SHARE:
        return compute(problem, None)
    if whole <= budget // SHARE:
        return compute(problem.with_budget(max(budget - whole, floor)), f0)
    per_point = whole // size
    xp, n = problem.xp, problem.n
    x = xp.reshape(problem.x, (n, size))
    head = () if f0 is None else tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    f = None if f0 is None else xp.reshape(f0, (math.prod(head), size))

    def part(b0: int, b1: int, rest: int) -> Any:
        if f is None:  # compute counts its own arrays in the chunk's share
            return compute(_part(problem, x, b0, b1, rest), None)
        chunk = _part(problem, x, b0, b1, max(rest - (b1 - b0) * per_point, floor))
        return compute(chunk, xp.reshape(f[:, b0:b1], (*head, b1 - b0)))

    return in_chunks(xp, size, budget, per_point, point_bytes(problem, kept) // size, part)


def in_chunks(
    xp: Any,
    size: int,
    budget: int,
    held: int,
    kept: int,
    part: Callable[[int, int, int], Any],
) -> Any:
    """``part(b0, b1, rest)`` over chunks of ``size`` points (base points, directions),
    joined along the results' last axis.

    ``held`` and ``kept`` are bytes per point: what a chunk holds while it
    runs, and what the joined result keeps. Where the points together hold at
    most half the budget (or there is one), ``part(0, size, budget)`` is the
    result, unsplit. Otherwise the result is counted first
    (twice where the parts are joined by ``concat``, once where NumPy's are
    written into one array), leaving ``rest`` (at least a quarter of the
    budget) for each chunk; a chunk's points hold at most half of it
    (:data:`SHARE`), so that its own work keeps the other half, and a chunk
    has at least one point (one that alone is larger is the budget's
    documented overshoot).
    """
    if size <= 1 or held * size <= budget // SHARE:  # nothing to split
        return part(0, size, budget)
    copies = 1 if _backend.is_numpy_namespace(xp) else 2  # parts and their join
    rest = max(budget - copies * kept * size, budget // 4)
    width = max(1, rest // SHARE // max(1, held))
    joined = _Joined(xp, size)
    for b0 in range(0, size, width):
        b1 = min(size, b0 + width)
        joined.add(b0, b1, part(b0, b1, rest))
    return joined.result()


def _part(problem: Problem, x: Any, b0: int, b1: int, budget: int) -> Problem:
    """The sub-problem of base points ``b0:b1`` (``x`` the batch as ``(n, size)``)."""
    return dataclasses.replace(
        problem,
        x=x[:, b0:b1],
        shape=(problem.n, b1 - b0),
        batch_shape=(b1 - b0,),
        size=b1 - b0,
        budget=budget,
    )


def _nbytes(problem: Problem, a: Any) -> int:
    """Bytes of ``a`` counted in x's dtype (a func's integers are taken to it)."""
    return math.prod(a.shape) * itemsize_of(problem.xp, problem.dtype) if _is_array(a) else 0


class _Joined:
    """Chunk results joined along their last axis (the base points), whatever they nest in.

    Arrays whose last axis is the chunk's base points are joined; anything else
    (a scheme, None, a number) is the first chunk's. NumPy arrays are written
    into one array made at the first chunk (the result exists once); other
    libraries' parts are joined with ``concat`` at the end.
    """

    def __init__(self, xp: Any, size: int) -> None:
        self.xp, self.size = xp, size
        self.in_place = _backend.is_numpy_namespace(xp)
        self.whole: Any = None
        self.parts: list[Any] = []

    def add(self, b0: int, b1: int, out: Any) -> None:
        width = b1 - b0
        if self.whole is None:
            self.whole = _map(lambda a: _start(a, self.size, width, self.in_place), [out])
        if not self.in_place:
            self.parts.append(out)
            return

        def write(whole: Any, a: Any) -> Any:
            if _is_batch(a, width) and whole is not a:
                whole[..., b0:b1] = a
            return whole

        _map(lambda pair: write(*pair), [self.whole, out])

    def result(self) -> Any:
        if self.in_place:
            return self.whole
        xp = self.xp
        return _map(
            lambda pieces: xp.concat(pieces, axis=-1) if _is_array(pieces[0]) else pieces[0],
            self.parts,
        )


def _is_array(a: Any) -> bool:
    return hasattr(a, "dtype") and len(getattr(a, "shape", ())) > 0


def _is_batch(a: Any, width: int) -> bool:
    """An array whose last axis is a chunk's ``width`` base points."""
    return _is_array(a) and a.shape[-1] == width


def _start(a: Any, size: int, width: int, in_place: bool) -> Any:
    """The first chunk's leaf: for NumPy, an array of the whole batch to write into."""
    a = a[0]
    if in_place and _is_batch(a, width):
        return np.empty((*a.shape[:-1], size), dtype=a.dtype)
    return a


def _map(fn: Callable[[list[Any]], Any], outs: list[Any]) -> Any:
    """``fn`` of the matching leaves of ``outs`` (dicts and tuples of the same form)."""
    first = outs[0]
    if isinstance(first, dict):
        return {k: _map(fn, [o[k] for o in outs]) for k in first}
    if isinstance(first, tuple):
        return tuple(_map(fn, [o[i] for o in outs]) for i in range(len(first)))
    return fn(outs)
