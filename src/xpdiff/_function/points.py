"""Building perturbed points: the one primitive of function mode that writes the batch.

A scheme's families (``_schemes.Family``) say which coordinates each point
set moves and by how much; this module writes the points of *rectangles* of
them — sets ``t0 .. t1 - 1`` of a family around base points ``b0 .. b1 - 1``
— side by side in an array of shape ``(n, points)``, the coordinates on axis
0 (the scipy.differentiate convention). Rectangles are host-side plans,
cached with the engine's layout, that hold their index and multiplier
arrays ready.

The generic builder uses the standard's ``where`` on broadcast operands, so
it writes the batch in one pass on any library, lazily on Dask and under
``jax.jit``. The NumPy builder (the small-primitive rule of docs/architecture.md) copies the
base points once into a fresh array and then writes only the moved
coordinates. Both compute the moved values with the same operations, so
their batches are equal to the bit.

Shapes: ``x4`` is the base points as ``(n, 1, 1, size)`` and ``xg``, ``hg``
the base points and steps as ``(1, n, 1, size)`` (coordinates on the groups'
axis), so that the moved values of a diagonal family — group g moves
coordinate g — broadcast as ``(1, G, L, B)`` against the points
``(n, G, L, B)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend, _budget, _host

__all__ = ["Rectangle", "build", "points_dtype", "sentinel"]


def points_dtype(xp: Any, family: Any, dtype: Any) -> Any:
    """The dtype of the family's points for real base points of ``dtype``."""
    if not family.is_complex:
        return dtype
    return _backend.complex_dtype(xp, dtype)


class Rectangle:
    """Sets ``t0 .. t1 - 1`` of a family around base points ``b0 .. b1 - 1``, planned.

    A rectangle of whole groups (``kind`` "diagonal" when group g moves
    coordinate g alone, else "grouped") holds, per move q, the coordinates
    that each group moves (-1: none) and the multipliers ``(1, G, L, 1)``;
    one of a family that moves every coordinate ("all") the multipliers of
    its sets, ``(n, T, 1)``; any other ("general", a chunk boundary inside a
    group) the coordinates moved by each set and the multipliers ``(T, 1)``.
    """

    __slots__ = (
        "b0",
        "b1",
        "cast",
        "columns",
        "coords",
        "family",
        "g0",
        "g1",
        "kind",
        "multipliers",
        "points",
        "rows",
        "sets",
        "t0",
        "t1",
    )

    def __init__(self, family: Any, t0: int, t1: int, b0: int, b1: int) -> None:
        self.family, self.t0, self.t1, self.b0, self.b1 = family, t0, t1, b0, b1
        #: NumPy's builder: the first move's multipliers per points' dtype (see numpy_multiplier)
        self.cast: dict[Any, np.ndarray] = {}
        #: how many point sets, and points (sets times base points), it holds
        self.sets, self.points = t1 - t0, (t1 - t0) * (b1 - b0)
        sets = family.sets
        self.g0, self.g1 = t0 // sets, -(-t1 // sets)
        if family.coords is None:
            self.kind = "all"
            # computed when the points are built (all_multipliers): n x sets numbers,
            # as many as the points, too many to keep in the engine's cached layouts
            self.multipliers: Any = None
        elif t0 % sets == 0 and t1 % sets == 0:
            self.kind = "diagonal" if family.diagonal else "grouped"
            m = family.multipliers
            m = m if m.shape[0] == 1 else m[self.g0 : self.g1]
            moves = family.coords.shape[1]
            # per move q: (1, G or 1, L, 1); the coordinates moved by each group, -1: none
            self.multipliers = []
            for q in range(moves):
                mq = np.ascontiguousarray(m[None, :, :, q : q + 1])
                same = [p for p in self.multipliers if np.array_equal(p, mq)]
                self.multipliers.append(same[0] if same else mq)  # a pair's moves share them
            self.coords = [
                np.ascontiguousarray(family.coords[self.g0 : self.g1, q]) for q in range(moves)
            ]
            # NumPy's builder: (coordinate, group) of each moved value, per move
            self.rows = [c[c >= 0] for c in self.coords]
            self.columns = [np.flatnonzero(c >= 0) for c in self.coords]
        else:
            self.kind = "general"
            coords = family.set_coords(t0, t1)
            multipliers = family.set_multipliers(t0, t1)
            self.coords = [np.ascontiguousarray(coords[:, q]) for q in range(coords.shape[1])]
            self.multipliers = [
                np.ascontiguousarray(multipliers[:, q, None]) for q in range(coords.shape[1])
            ]

    def numpy_multiplier(self, dtype: Any) -> np.ndarray:
        """The first move's multipliers in the points' NumPy ``dtype`` (cast once, kept)."""
        m = self.cast.get(dtype)
        if m is None:
            m = self.cast[dtype] = np.asarray(self.multipliers[0], dtype=dtype)
            m.flags.writeable = False
        return m

    def all_multipliers(self) -> np.ndarray:
        """An "all" rectangle's multipliers, ``(n, T, 1)``: every coordinate, every set.

        A whole family without masks (an elementwise function's, one group)
        is a view of its multipliers: no ``n x T`` copy on every call.
        """
        family = self.family
        if family.masks is None and (self.t0, self.t1) == (0, family.sets):
            return family.multipliers[0].T[:, :, None]
        return np.ascontiguousarray(family.set_multipliers(self.t0, self.t1).T[:, :, None])


def _multiplier(xp: Any, values: Any, device: Any, dtype: Any) -> Any:
    """Host multipliers in the points' dtype (complex for the complex step), on the device."""
    return _backend.host_to_device(values, xp, device, dtype)


def build(
    xp: Any,
    rects: list[Rectangle],
    base: tuple[Any, Any, Any],
    dtype: Any,
    pad: bool,
    *,
    copy: Any = None,
    x0: Any = None,
) -> Any:
    """The points of ``rects`` side by side, ``(n, points)``, plus a padding column if ``pad``.

    ``base`` is ``(x4, xg, hg)``: the base points as ``(n, 1, 1, size)`` and
    ``(1, n, 1, size)``, and the steps like ``xg`` (None without relative families);
    ``dtype`` the points' dtype. With ``copy``, a host array ``(n,)`` of
    multipliers d, two points follow the rectangles' points: an unperturbed
    copy of the point ``x0`` ``(n,)`` (where func was evaluated alone) and the
    sentinel ``x0 + d * (|x0| + 1)`` (``mixing.check_not_mixing``).
    The padding column repeats the first base point (see
    ``evaluators.unpad``).
    """
    if _backend.is_numpy_namespace(xp):
        with np.errstate(all="ignore"):  # an infinite step: NaN points, not NumPy warnings
            return _build_numpy(rects, base, dtype, pad, copy, x0)
    x4, xg, hg = base
    device = _backend.device_of(x4)
    n = x4.shape[0]
    parts = []
    for rect in rects:
        b0, b1 = rect.b0, rect.b1
        whole = (b0, b1) == (0, x4.shape[3])
        if rect.kind == "diagonal":
            m = _multiplier(xp, rect.multipliers[0], device, dtype)
            moved = _moved_diagonal(rect, xg, hg, m, whole)
            base = x4 if whole else x4[..., b0:b1]
            eye = _backend.host_to_device(_eye(n, rect.g0, rect.g1), xp, device)
            points = xp.where(eye, moved, base)  # (n, G, L, B)
        elif rect.kind == "grouped":
            points = _grouped(xp, rect, x4, xg, hg, device, dtype, whole)
        elif rect.kind == "all":
            base = x4[:, 0, ...] if whole else x4[:, 0, :, b0:b1]  # (n, 1, B)
            m = _multiplier(xp, rect.all_multipliers(), device, dtype)  # (n, T, 1)
            if rect.family.relative:
                steps = xp.reshape(hg, (n, 1, x4.shape[3]))
                m = m * (steps if whole else steps[..., b0:b1])
            points = base + m
        else:
            points = _general(xp, rect, x4, hg, device, dtype, whole)
        if points.dtype != dtype:
            points = xp.astype(points, dtype)
        parts.append(xp.reshape(points, (n, rect.points)))
    if copy is not None:
        column = xp.reshape(x0, (n, 1))
        d = _backend.host_to_device(np.reshape(copy, (n, 1)), xp, device, x4.dtype)
        for point in (column, column + d * (xp.abs(column) + 1)):
            parts.append(point if point.dtype == dtype else xp.astype(point, dtype))
    if pad:
        first = x4[:, 0, 0, rects[0].b0 : rects[0].b0 + 1] if rects else parts[0]
        parts.append(first if first.dtype == dtype else xp.astype(first, dtype))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)


def sentinel(x0: np.ndarray, d: np.ndarray) -> np.ndarray:
    """NumPy: the sentinel point ``x0 + d * (|x0| + 1)`` (see :func:`build`), in x0's dtype."""
    column = np.empty_like(x0)  # not a complex batch's column: NumPy's casting loops
    _sentinel_into(column, x0, d)  # into it would be slower
    return column


def _sentinel_into(column: np.ndarray, x0: np.ndarray, d: np.ndarray) -> None:
    """:func:`sentinel` written into ``column`` (x0's dtype), in place."""
    np.abs(x0, out=column)
    column += 1
    column *= d.astype(x0.dtype, copy=False)
    column += x0


def _eye(n: int, g0: int, g1: int) -> np.ndarray:
    """Coordinate c of group g is moved: ``(n, G, 1, 1)`` booleans."""
    return (np.arange(n)[:, None] == np.arange(g0, g1)[None, :])[:, :, None, None]


def _moved_diagonal(rect: Rectangle, xg: Any, hg: Any, m: Any, whole: bool) -> Any:
    """Group g's moved coordinate g, for each set: ``(1, G, L, B)``; ``m`` the multipliers
    ``(1, G, L, 1)`` in the points' dtype, on the device."""
    g0, g1, b0, b1 = rect.g0, rect.g1, rect.b0, rect.b1
    whole = whole and (g0, g1) == (0, xg.shape[1])
    base = xg if whole else xg[:, g0:g1, :, b0:b1]
    if rect.family.relative:
        return base + m * (hg if whole else hg[:, g0:g1, :, b0:b1])
    return base + m


def _grouped(
    xp: Any, rect: Rectangle, x4: Any, xg: Any, hg: Any, device: Any, dtype: Any, whole: bool
) -> Any:
    """Whole groups of any family: per move, ``where`` the group moves that coordinate."""
    n, b0, b1 = x4.shape[0], rect.b0, rect.b1
    points = x4 if whole else x4[..., b0:b1]
    xb = xg if whole else xg[..., b0:b1]
    hb = None if hg is None else hg if whole else hg[..., b0:b1]
    coordinate = _backend.host_to_device(np.arange(n)[:, None, None, None], xp, device)
    on_device = {}
    for coords, multipliers in zip(rect.coords, rect.multipliers, strict=True):
        if id(multipliers) not in on_device:  # a pair's moves share their multipliers
            on_device[id(multipliers)] = _multiplier(xp, multipliers, device, dtype)
        m = on_device[id(multipliers)]
        index = _backend.index_to_device(np.maximum(coords, 0), xp, device)
        delta = m * xp.take(hb, index, axis=1) if hb is not None else m
        moved = xp.take(xb, index, axis=1) + delta  # (1, G, L, B)
        hit = coordinate == _backend.host_to_device(coords[None, :, None, None], xp, device)
        points = xp.where(hit, moved, points)
    return points


def _general(
    xp: Any, rect: Rectangle, x4: Any, hg: Any, device: Any, dtype: Any, whole: bool
) -> Any:
    """Any rectangle: per move, ``where`` the set moves that coordinate: ``(n, T, B)``."""
    n, size = x4.shape[0], x4.shape[3]
    base = x4[:, 0, ...] if whole else x4[:, 0, :, rect.b0 : rect.b1]  # (n, 1, B)
    x2 = base[:, 0, :]
    h2 = None
    if rect.family.relative:
        h2 = xp.reshape(hg, (n, size))
        h2 = h2 if whole else h2[:, rect.b0 : rect.b1]
    coordinate = _backend.host_to_device(np.arange(n)[:, None, None], xp, device)
    points = base
    for coords, multipliers in zip(rect.coords, rect.multipliers, strict=True):
        index = _backend.index_to_device(np.maximum(coords, 0), xp, device)
        m = _multiplier(xp, multipliers, device, dtype)
        delta = m * xp.take(h2, index, axis=0) if h2 is not None else m
        moved = xp.take(x2, index, axis=0) + delta  # (T, B)
        hit = coordinate == _backend.host_to_device(coords[None, :, None], xp, device)
        points = xp.where(hit, moved[None, ...], points)
    return points


def _masked_into(block: np.ndarray, rect: Rectangle, base: Any, steps: Any, dtype: Any) -> None:
    """A masked family's sets one at a time: no ``n x sets`` temporary (sparse Jacobians)."""
    family = rect.family
    moves = family.multipliers[0]  # (L, n)
    for k, t in enumerate(range(rect.t0, rect.t1)):
        group, member = divmod(t, family.sets)
        m = (family.masks[group] * moves[member]).astype(dtype, copy=False)[:, None]
        if steps is not None:
            m = m * steps[:, 0, :]
        np.add(base[:, 0, :], m, out=block[:, k, :])


def _grouped_into(
    block: np.ndarray, rect: Rectangle, xg: Any, hg: Any, dtype: Any, whole: bool
) -> None:
    """NumPy: whole groups' moved coordinates written into their ``block`` of base points."""
    b0, b1 = rect.b0, rect.b1
    xb = xg if whole else xg[..., b0:b1]
    hb = None if hg is None else hg if whole else hg[..., b0:b1]
    for q, multipliers in enumerate(rect.multipliers):
        index = rect.rows[q]
        m = multipliers if multipliers.shape[1] == 1 else multipliers[:, rect.columns[q]]
        m = m.astype(dtype, copy=False)
        delta = m * np.take(hb, index, axis=1) if hb is not None else m
        moved = np.take(xb, index, axis=1) + delta
        block[index, rect.columns[q]] = moved[0]


def _diagonal_into(
    block: np.ndarray, rect: Rectangle, base: tuple, dtype: Any, whole: bool
) -> None:
    """NumPy: a diagonal rectangle, the generic builder's moved values by the same operations.

    One coordinate (an elementwise function's), moved in every set: ``x + m h``
    written in place, without the copy of the base points and its overwrite.
    """
    x4, xg, hg = base
    m = rect.numpy_multiplier(dtype)
    if x4.shape[0] == 1 and rect.family.relative and _writes_into(block, m, hg):
        steps, x = (a if whole else a[..., rect.b0 : rect.b1] for a in (hg, xg))
        np.add(x, np.multiply(m, steps, out=block), out=block)
        return
    block[...] = x4 if whole else x4[..., rect.b0 : rect.b1]
    moved = _moved_diagonal(rect, xg, hg, m, whole)
    block[rect.rows[0], rect.columns[0]] = moved[0]


def _build_numpy(
    rects: list[Rectangle], base: tuple, dtype: Any, pad: bool, copy: Any, x0: Any
) -> np.ndarray:
    """NumPy: one copy of the base points, then the moved coordinates, into an array of
    the buffer kept between calls (``_host.empty_reused``: no page faults)."""
    x4, xg, hg = base
    n = x4.shape[0]
    total = rects[0].points if len(rects) == 1 else sum(rect.points for rect in rects)
    extra = 0 if copy is None else 2
    out = _host.empty_reused((n, total + extra + pad), dtype, _budget.get_memory_budget())
    start = 0
    for rect in rects:
        b0, b1 = rect.b0, rect.b1
        whole = (b0, b1) == (0, x4.shape[3])
        block = out[:, start : start + rect.points]
        start += rect.points
        if rect.kind == "diagonal":
            block = block.reshape(n, rect.g1 - rect.g0, rect.family.sets, b1 - b0)
            _diagonal_into(block, rect, (x4, xg, hg), dtype, whole)
        elif rect.kind == "grouped":
            block = block.reshape(n, rect.g1 - rect.g0, rect.family.sets, b1 - b0)
            block[...] = x4 if whole else x4[..., b0:b1]
            _grouped_into(block, rect, xg, hg, dtype, whole)
        elif rect.kind == "all":
            block = block.reshape(n, rect.sets, b1 - b0)
            base = x4[:, 0, ...] if whole else x4[:, 0, :, b0:b1]
            steps = None
            if rect.family.relative:
                steps = hg.reshape(n, 1, x4.shape[3])
                steps = steps if whole else steps[..., b0:b1]
            if rect.family.masks is not None:
                _masked_into(block, rect, base, steps, dtype)
                continue
            m = rect.all_multipliers().astype(dtype, copy=False)
            if b1 - b0 == 1 and rect.sets < n:
                _all_by_sets(block, base, m, steps)
                continue
            if steps is not None and _writes_into(block, m, steps):
                m = np.multiply(m, steps, out=block)  # x + m h in place: no temporary
            elif steps is not None:
                m = m * steps
            np.add(base, m, out=block)
        else:
            block = block.reshape(n, rect.sets, b1 - b0)
            x2 = x4[:, 0, 0, :] if whole else x4[:, 0, 0, b0:b1]
            block[...] = x2[:, None, :]
            h2 = None
            if rect.family.relative:
                h2 = hg.reshape(n, x4.shape[3])
                h2 = h2 if whole else h2[:, b0:b1]
            sets = np.arange(rect.sets)
            for coords, multipliers in zip(rect.coords, rect.multipliers, strict=True):
                index = np.maximum(coords, 0)
                m = multipliers.astype(dtype, copy=False)
                delta = m * np.take(h2, index, axis=0) if h2 is not None else m
                moved = np.take(x2, index, axis=0) + delta
                keep = coords >= 0
                block[coords[keep], sets[keep], :] = moved[keep]
    if copy is not None or pad:
        _extra_columns(out, total, x4, rects, copy, x0, pad)
    return out


#: the bytes of :func:`_all_by_sets`' work array (4096 coordinates of 8 float64 sets):
#: it stays in cache
BY_SETS_BYTES = 2**18


def _all_by_sets(block: np.ndarray, base: Any, m: np.ndarray, steps: Any) -> None:
    """An "all" rectangle at one base point (an elementwise function's coordinates, ``(n,
    T, 1)``), one set at a time: the same ``x + m h``, but each operation runs along the n
    coordinates, not along the few sets (NumPy's inner loops of length T, with the
    multipliers' transposed view, took 5 of derivative(np.sin, x)'s 45 ms at 1e5 points),
    into a work array of :data:`BY_SETS_BYTES`, then copied across: a set's column of
    ``block`` strides over its rows (written in place, 4.6 ms at 1e5 x 8, not 1.9)."""
    x = base[:, 0, 0]
    h = None if steps is None else steps[:, 0, 0]
    into = h is not None and _writes_into(block, m, steps)
    n, sets = block.shape[:2]
    size = max(64, BY_SETS_BYTES // (sets * block.itemsize))
    work = np.empty((sets, min(n, size)), dtype=block.dtype)
    for start in range(0, n, size):
        rows = slice(start, min(n, start + size))
        # x, h and m: each one coordinate's (broadcast to all) or every coordinate's
        xs = x if x.shape[0] == 1 else x[rows]
        hs = h if h is None or h.shape[0] == 1 else h[rows]
        ms = m[:, :, 0] if m.shape[0] == 1 else m[rows, :, 0]
        part = work[:, : rows.stop - rows.start]
        for k, row in enumerate(part):
            if into and hs is not None:
                np.add(xs, np.multiply(ms[:, k], hs, out=row), out=row)
            else:
                np.add(xs, ms[:, k] if hs is None else ms[:, k] * hs, out=row)
        block[rows, :, 0] = part.T


def _writes_into(block: np.ndarray, m: np.ndarray, steps: Any) -> bool:
    """Whether ``m * steps`` can be written into ``block``: the same dtype, the same bits."""
    return m.dtype == block.dtype and steps.dtype == block.dtype


def _extra_columns(
    out: np.ndarray,
    total: int,
    x4: Any,
    rects: list[Rectangle],
    copy: Any,
    x0: Any,
    pad: bool,
) -> None:
    """NumPy: the copy of x0 and the sentinel, then the padding column, after the points."""
    extra = 0
    if copy is not None:
        out[:, total] = x0
        if out.dtype == x0.dtype:  # in place: the same operations, no temporary
            _sentinel_into(out[:, total + 1], x0, copy)
        else:  # a complex batch's column: NumPy's casting loops would be slower in place
            out[:, total + 1] = sentinel(x0, copy)
        extra = 2
    if pad:  # a call of the copy and the sentinel alone repeats the copy
        out[:, total + extra] = x4[:, 0, 0, rects[0].b0] if rects else out[:, total]
