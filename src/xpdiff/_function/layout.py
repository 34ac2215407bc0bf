"""Where the points of a derivative go: calls of func and units of the combination.

:func:`plan_layout` lays the point families of a scheme out in one flat order,
splits them into calls of func (``max_batch``, the memory budget, the workers)
and into units of whole groups for the combination (the budget alone), and
says where the points that check func (``mixing``) join the last call;
:class:`Assembly` joins a family's unit results. Host-side bookkeeping: only
``take_range`` and ``Assembly`` touch arrays, with the standard's ``concat``.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from .._typing import Array, Namespace
from . import points as _points
from .mixing import EXTRA
from .problem import points_per_call
from .schemes import Family

__all__ = [
    "EAGER_CALLS",
    "Assembly",
    "Call",
    "Layout",
    "LazyCalls",
    "Unit",
    "call_ranges",
    "in_flight",
    "itemsize_of",
    "plan_layout",
    "rectangles",
    "take_range",
    "unit_slice",
]


class Unit:
    """Groups ``g0 .. g1 - 1`` of a family around base points ``b0 .. b1 - 1``.

    Its values are the flat points ``start .. end - 1``, combined together;
    ``last`` marks the family's last unit.
    """

    __slots__ = ("b0", "b1", "end", "family", "g0", "g1", "index", "last", "start")

    def __init__(
        self,
        index: int,
        family: Family,
        g0: int,
        g1: int,
        b0: int,
        b1: int,
        segment_start: int,
    ) -> None:
        self.index, self.family, self.g0, self.g1, self.b0, self.b1 = index, family, g0, g1, b0, b1
        self.start = segment_start + g0 * family.sets * (b1 - b0)
        self.end = segment_start + g1 * family.sets * (b1 - b0)
        self.last = False


#: a layout of more calls than this builds each call's rectangles when it is made, not
#: when it is planned (plans are cached; 40,000 calls' rectangles took 45 MB)
EAGER_CALLS = 64

#: one call: (first flat point, end, rectangles, pad, copy of x and sentinel at the end)
Call = tuple[int, int, list[_points.Rectangle], bool, bool]


class Layout:
    """Where every point goes: the calls (flat ranges, rectangles, padding) and the units."""

    __slots__ = ("calls", "in_flight", "one_call", "total", "units")
    #: a list, or for many calls a :class:`LazyCalls` that builds each when asked
    calls: Any
    in_flight: int
    #: one call, one unit per family: ``engine.run`` evaluates it without a loop
    one_call: bool
    total: int
    units: list[Unit]


class LazyCalls:
    """A layout's calls, each built from its bounds when asked (``len``, index, iteration).

    :func:`call_ranges` gives each call's ``(first, end, copy)`` without
    building its rectangles.
    """

    __slots__ = ("bounds", "n", "segments", "total")

    def __init__(self, segments: list, bounds: list[int], total: int, n: int) -> None:
        self.segments, self.bounds, self.total, self.n = segments, bounds, total, n

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, index: int) -> Call:
        index = range(len(self))[index]
        return _call(self.segments, self.bounds[index], self.bounds[index + 1], self.total, self.n)

    def __iter__(self) -> Any:
        for p0, p1 in itertools.pairwise(self.bounds):
            yield _call(self.segments, p0, p1, self.total, self.n)


def _call(segments: list, p0: int, p1: int, total: int, n: int) -> Call:
    """The call of flat points ``p0 .. p1 - 1`` (beyond ``total``: the copy and sentinel)."""
    return (
        p0,
        min(p1, total),
        rectangles(segments, p0, min(p1, total)),
        p1 - p0 == n > 1,
        p1 > total,
    )


def call_ranges(calls: Any) -> Any:
    """Each call's ``(first, end, copy)``, without building rectangles that are not built."""
    if isinstance(calls, LazyCalls):
        for p0, p1 in itertools.pairwise(calls.bounds):
            yield p0, min(p1, calls.total), p1 > calls.total
    else:
        for p0, p1, _, _, copy in calls:
            yield p0, p1, copy


_ITEMSIZE: dict[tuple[str, Any], int] = {}


def itemsize_of(xp: Namespace, dtype: Any) -> int:
    """Bytes per element of a floating ``dtype`` (cached per library and dtype)."""
    key = (type(dtype).__module__, dtype)
    size = _ITEMSIZE.get(key)
    if size is None:
        bits = xp.finfo(dtype).bits
        size = 2 * bits // 8 if xp.isdtype(dtype, "complex floating") else bits // 8
        _ITEMSIZE[key] = size
    return size


def plan_layout(families: tuple, *args: Any) -> Layout:
    """:func:`_layout_of` (same arguments), cached per arguments: but a sparse pattern's
    families (``masks``), made per call, are laid out anew (cached, they would never
    be found again and would keep their masks: 0.5 MB per call at n = 2e4)."""
    for family in families:  # a loop, not any(): this runs on every call of func's batch
        if family.masks is not None:
            return _layout_of(families, *args)
    return _cached_layout(families, *args)


def in_flight(available: int, point_bytes: int) -> int:
    """Points per call of func within ``available`` bytes, ``point_bytes`` each (a point
    and its values; at least 1).

    Held at once: the points and values of a call and of the one before it, while
    a unit spans both, and a unit's values (joined from the calls) with one
    temporary of their size: a quarter of what the result leaves for each.
    """
    return max(1, available // 4 // point_bytes)


def _layout_of(
    families: tuple,
    n: int,
    size: int,
    m: int,
    budget: int,
    kept_bytes: int,
    point_bytes: int,
    value_bytes: int,
    max_batch: int | None,
    min_calls: int,
    copy: bool = False,
) -> Layout:
    """Segments, units and calls of ``families`` around ``size`` base points (cached).

    With ``copy``, two more points follow the last (``EXTRA``): an
    unperturbed copy of x's first point in the last call, whose value tells a
    func that mixes the points of a batch (``mixing.check_not_mixing``), and a
    sentinel (``mixing.sentinel_direction``) that shifts any reduction over
    the batch. They join the last call where it has room; else the points
    are spread over the same calls, the two at the end, where the calls
    have room for them; else (every call full: ``max_batch`` dividing the
    points, say) they make one more call of their own. With one point per
    call they are left out: func cannot mix points then.
    """
    available = max(0, budget - kept_bytes)
    points_in_flight = in_flight(available, n * point_bytes + m * value_bytes)
    unit_points = max(1, available // 4 // max(1, m * value_bytes))  # m = 0: no outputs

    segments, units, start = [], [], 0
    for index, family in enumerate(families):
        sets = family.sets
        if sets * size <= unit_points:
            blocks = [(0, size)]
        else:
            width = max(1, unit_points // sets)
            blocks = [(b, min(b + width, size)) for b in range(0, size, width)]
        for b0, b1 in blocks:
            segments.append((family, b0, b1, start))
            per_unit = max(1, unit_points // (sets * (b1 - b0)))
            for g0 in range(0, family.groups, per_unit):
                unit = Unit(index, family, g0, min(g0 + per_unit, family.groups), b0, b1, start)
                units.append(unit)
            start = units[-1].end
        units[-1].last = True
    total = start

    per_call = points_in_flight if min_calls == 1 else max(1, points_in_flight // min_calls)
    limit = points_per_call(max_batch, n)  # n - 1 where max_batch is n: no padding beyond
    if limit is not None:
        per_call = min(per_call, limit) if min_calls == 1 else limit
    count = max(-(-total // per_call), min(total, min_calls))
    bounds = [total * c // count for c in range(count + 1)]
    if copy and bounds[-1] - bounds[-2] + EXTRA <= per_call:
        bounds[-1] += EXTRA  # the last call has room for the copy and the sentinel
    elif copy and total + EXTRA <= count * per_call:  # spread: the last call ends with them
        bounds = [(total + EXTRA) * c // count for c in range(count + 1)]
    elif copy and per_call >= EXTRA:
        bounds.append(total + EXTRA)  # every call full: one more, of these two alone
    layout = Layout()
    # (first, end, rectangles, pad, copy): the copy is the last call's last kept point
    if len(bounds) - 1 > EAGER_CALLS:
        layout.calls = LazyCalls(segments, bounds, total, n)
    else:
        layout.calls = [_call(segments, p0, p1, total, n) for p0, p1 in itertools.pairwise(bounds)]
    layout.units, layout.total, layout.in_flight = units, total, points_in_flight
    layout.one_call = len(layout.calls) == 1 and len(units) == len(families)
    return layout


_cached_layout = functools.lru_cache(maxsize=128)(_layout_of)


def rectangles(
    segments: list[tuple[Family, int, int, int]], p0: int, p1: int
) -> list[_points.Rectangle]:
    """The rectangles (family sets x base points) that flat points ``p0 .. p1-1`` cover."""
    rects = []
    for family, b0, b1, start in segments:
        width = b1 - b0
        end = start + family.groups * family.sets * width
        lo, hi = max(p0, start), min(p1, end)
        if lo >= hi:
            continue
        t0, r0 = divmod(lo - start, width)
        t1, r1 = divmod(hi - start, width)
        if t0 == t1:
            rects.append(_points.Rectangle(family, t0, t0 + 1, b0 + r0, b0 + r1))
            continue
        if r0:
            rects.append(_points.Rectangle(family, t0, t0 + 1, b0 + r0, b1))
            t0 += 1
        if t1 > t0:
            rects.append(_points.Rectangle(family, t0, t1, b0, b1))
        if r1:
            rects.append(_points.Rectangle(family, t1, t1 + 1, b0, b0 + r1))
    return rects


def unit_slice(array: Array | None, span: tuple[int, int], whole: int, axis: int) -> Any:
    """``array``'s part that serves one unit: ``span`` ``(start, stop)`` along ``axis``.

    A unit of the combination holds groups ``g0 .. g1 - 1`` of a family of
    ``whole`` groups around base points ``b0 .. b1 - 1`` of ``whole``
    (``run``'s ``combine_unit`` gets both spans); an array per group (weights,
    steps) or per base point (steps, func at x) serves the unit through its
    part along the groups' or the base points' axis. An axis of length 1
    broadcasts, and a span of the whole axis needs no part: the array itself
    (None stays None).

    >>> import numpy as np
    >>> steps = np.arange(12.0).reshape(1, 3, 1, 4)  # (1, groups, 1, base points)
    >>> unit_slice(unit_slice(steps, (1, 3), 3, 1), (0, 2), 4, -1)[0, :, 0, :]
    array([[4., 5.],
           [8., 9.]])
    >>> unit_slice(steps, (0, 3), 3, 1) is steps, unit_slice(steps, (1, 2), 3, 0) is steps
    (True, True)
    """
    if array is None or span == (0, whole) or array.shape[axis] == 1:
        return array
    index: list[slice] = [slice(None)] * array.ndim
    index[axis] = slice(span[0], span[1])
    return array[tuple(index)]


def take_range(xp: Namespace, pending: list[tuple[int, Array]], u0: int, u1: int) -> Array:
    """Values of flat points ``u0 .. u1-1`` from the pending ``(start, values)`` list."""
    parts = []
    for start, values in pending:
        end = start + values.shape[-1]
        lo, hi = max(u0, start), min(u1, end)
        if lo < hi:
            parts.append(
                values if (lo, hi) == (start, end) else values[:, lo - start : hi - start]
            )
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)


class Assembly:
    """A family's unit results joined: groups along axis 1, base points along the last.

    NumPy writes each unit into one array made at the first unit, so that the
    result exists once; other libraries join the units with ``concat`` at the
    end (JAX arrays cannot be written to), which holds the result twice.
    """

    def __init__(self, xp: Namespace, groups: int, size: int) -> None:
        self.xp, self.groups, self.size = xp, groups, size
        self.pieces: list[tuple[tuple[int, int], Array]] = []
        self.out: Array = None

    def add(self, unit: Unit, piece: Array) -> None:
        if type(piece) is np.ndarray and (unit.g1 - unit.g0, unit.b1 - unit.b0) != (
            self.groups,
            self.size,
        ):
            if self.out is None:
                shape = (*piece.shape[:1], self.groups, *piece.shape[2:-1], self.size)
                self.out = np.empty(shape, dtype=piece.dtype)
            self.out[:, unit.g0 : unit.g1, ..., unit.b0 : unit.b1] = piece
            return
        self.pieces.append(((unit.b0, unit.b1), piece))

    def result(self) -> Array:
        if self.out is not None:
            return self.out
        pieces, xp = self.pieces, self.xp
        if len(pieces) == 1:
            return pieces[0][1]
        rows: list[tuple[tuple[int, int], list[Array]]] = []
        for block, piece in pieces:
            if not rows or rows[-1][0] != block:
                rows.append((block, []))
            rows[-1][1].append(piece)
        joined = [parts[0] if len(parts) == 1 else xp.concat(parts, axis=1) for _, parts in rows]
        return joined[0] if len(joined) == 1 else xp.concat(joined, axis=-1)
