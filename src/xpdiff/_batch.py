"""The batch of perturbed points: building it, chunking it, calling func, checking shapes.

Function mode evaluates every perturbed point of a derivative in one call of
``func``. The points are described as *sets*: set ``t`` moves a few
coordinates (``coords[t]``, one for a gradient, two for a mixed second
derivative) or every coordinate of the base point by a step, for each of the
``B`` base points (the batch shape of ``x``, flattened). The
batch handed to ``func`` is ``(n, points)`` with the coordinates on axis 0,
the scipy.differentiate convention. ``max_batch`` caps the points per call;
the default keeps the points of one call under :data:`MEMORY_BUDGET` bytes,
and a larger batch is split into the fewest calls that fit.

Only array-API operations are used, so this module knows no library; the
caller passes the namespace.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _backend

__all__ = ["MEMORY_BUDGET", "Evaluator", "PointSets", "default_max_batch"]

#: bytes that the perturbed points of one call may take (n * points * itemsize);
#: their construction needs at most as much again.
MEMORY_BUDGET = 128 * 2**20


def default_max_batch(n: int, itemsize: int) -> int:
    """Points per call that keep ``n * points * itemsize`` under :data:`MEMORY_BUDGET`."""
    return max(1, MEMORY_BUDGET // max(1, n * itemsize))


@dataclass
class PointSets:
    """``S`` sets of ``B`` points around base points ``x`` of shape ``(n, B)``.

    With ``coords`` (host integers, shape ``(S, a)``), set ``t`` moves the
    ``a`` coordinates ``coords[t]`` by ``steps[t, q]`` (``steps`` has shape
    ``(S, a, B)``) and keeps the others exactly. Without, ``steps`` has shape
    ``(S, n, B)`` and set ``t`` moves every coordinate.
    """

    x: Any
    steps: Any
    coords: Any = None

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def size(self) -> int:
        return self.x.shape[1]

    @property
    def count(self) -> int:
        return self.steps.shape[0]

    @property
    def points(self) -> int:
        return self.count * self.size

    def block(self, xp, t0: int, t1: int, b0: int, b1: int):
        """Points of sets ``t0..t1-1`` and base points ``b0..b1-1``, as ``(n, sets*points)``."""
        n = self.n
        base = self.x[:, b0:b1]
        if self.coords is None:
            points = base[:, None, :] + xp.permute_dims(self.steps[t0:t1, :, b0:b1], (1, 0, 2))
        elif _backend.is_numpy_namespace(xp):
            points = _moved_block_numpy(base, self.steps[t0:t1, :, b0:b1], self.coords[t0:t1])
        else:
            device = _device(base)
            coord = xp.reshape(xp.arange(n, device=device), (n, 1, 1))
            points = xp.broadcast_to(base[:, None, :], (n, t1 - t0, b1 - b0))
            for q in range(self.coords.shape[1]):
                moved = _backend.host_to_device(self.coords[t0:t1, q], xp, device)
                moved = xp.reshape(moved, (1, t1 - t0, 1))
                step = self.steps[t0:t1, q, b0:b1]
                # the moved coordinates get x + step, the others keep x exactly
                points = xp.where(coord == moved, base[:, None, :] + step[None, ...], points)
        return xp.reshape(points, (n, (t1 - t0) * (b1 - b0)))

    def chunk(self, xp, p0: int, p1: int):
        """Flat points ``p0..p1-1`` (set-major order) as ``(n, p1 - p0)``."""
        size = self.size
        t0, t1 = p0 // size, (p1 - 1) // size
        if t0 == t1:
            return self.block(xp, t0, t0 + 1, p0 - t0 * size, p1 - t0 * size)
        parts = []
        if p0 % size:
            parts.append(self.block(xp, t0, t0 + 1, p0 % size, size))
            t0 += 1
        full_end = t1 if (p1 % size) else t1 + 1
        if full_end > t0:
            parts.append(self.block(xp, t0, full_end, 0, size))
        if p1 % size:
            parts.append(self.block(xp, t1, t1 + 1, 0, p1 % size))
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)


def _moved_block_numpy(base, steps, coords):
    """NumPy fast path of a block of moved points (design.md's small-primitive rule).

    One pass writes the copies of the base points; then only the moved
    coordinates are updated, in the array this function just made. The
    values equal the generic ``where`` path's.
    """
    n, size = base.shape
    sets = steps.shape[0]
    points = np.empty((n, sets, size), dtype=np.result_type(base.dtype, steps.dtype))
    points[...] = base[:, None, :]
    t = np.arange(sets)
    for q in range(coords.shape[1]):
        coord = coords[:, q]
        points[coord, t, :] = base[coord, :] + steps[:, q, :]
    return points


def _device(x):
    return _backend.device_of(x)


def _as_array(xp, value, device):
    """func's result as an array of xp (Python numbers go to ``device``)."""
    if _backend.is_array(value):
        return value
    return xp.asarray(value, device=device)


@dataclass
class Evaluator:
    """Calls ``func`` on points, counting evaluations and calls, checking shapes."""

    func: Any
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    vectorized: bool = True
    max_batch: int | None = None
    nfev: int = 0
    ncalls: int = 0

    def _call(self, xp, points):
        """func on ``(n, P)`` points (or point by point) -> an array of xp."""
        device = _device(points)
        if self.vectorized or points.ndim == 1:
            self.ncalls += 1
            self.nfev += points.shape[1] if points.ndim > 1 else 1
            return _as_array(xp, self.func(points, *self.args, **self.kwargs), device)
        values = []
        for p in range(points.shape[1]):
            self.ncalls += 1
            self.nfev += 1
            value = self.func(points[:, p], *self.args, **self.kwargs)
            values.append(_as_array(xp, value, device))
        return xp.stack(values, axis=-1)

    def at(self, xp, x):
        """``func(x)`` for ``x`` of shape ``(n, *B)``, checked to end in ``B``."""
        batch_shape = tuple(x.shape[1:])
        if self.vectorized or not batch_shape:
            value = self._call(xp, x)
        else:
            flat = xp.reshape(x, (x.shape[0], math.prod(batch_shape)))
            value = self._call(xp, flat)
            value = xp.reshape(value, tuple(value.shape[:-1]) + batch_shape)
        tail = tuple(value.shape[value.ndim - len(batch_shape) :]) if batch_shape else ()
        if value.ndim < len(batch_shape) or tail != batch_shape:
            raise ValueError(
                f"func(x) returned shape {tuple(value.shape)} for x of shape "
                f"{tuple(x.shape)}; expected the batch shape {batch_shape} at the end, "
                f"after any output dimensions, i.e. () + {batch_shape} for a scalar "
                f"function. With vectorized=False func gets one point of shape "
                f"({x.shape[0]},) at a time."
            )
        return value

    def on(self, xp, groups, head: tuple):
        """func on every point of one or several :class:`PointSets`, in one batch.

        Returns, for each group, an array of shape ``head + (S, B)`` (a list
        when ``groups`` is a list). The points of all groups go in the fewest
        calls of at most ``max_batch`` points.
        """
        single = isinstance(groups, PointSets)
        if single:
            groups = [groups]
        starts = [0]
        for group in groups:
            starts.append(starts[-1] + group.points)
        total = starts[-1]
        if total == 0:
            raise ValueError("no points to evaluate")
        limit = self.max_batch
        if limit is None:
            limit = default_max_batch(groups[0].n, _itemsize(xp, groups[0].x.dtype))
        calls = -(-total // limit)
        bounds = [total * c // calls for c in range(calls + 1)]
        values = []
        for p0, p1 in itertools.pairwise(bounds):
            parts = [
                group.chunk(xp, max(p0, start) - start, min(p1, end) - start)
                for group, start, end in zip(groups, starts[:-1], starts[1:], strict=True)
                if max(p0, start) < min(p1, end)
            ]
            points = parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)
            value = self._call(xp, points)
            expected = (*head, p1 - p0)
            if tuple(value.shape) != expected:
                raise ValueError(
                    f"func returned shape {tuple(value.shape)} for a batch of points of shape "
                    f"{tuple(points.shape)}; expected {expected}: the output for each point "
                    f"({head if head else 'a scalar'}) followed by the {p1 - p0} points on the "
                    f"last axis. A func that cannot take a batch of points (coordinates on "
                    f"axis 0, points on the trailing axes) can be used with vectorized=False, "
                    f"which evaluates point by point."
                )
            values.append(value)
        value = values[0] if len(values) == 1 else xp.concat(values, axis=-1)
        results = [
            xp.reshape(value[..., start:end], (*head, group.count, group.size))
            for group, start, end in zip(groups, starts[:-1], starts[1:], strict=True)
        ]
        return results[0] if single else results


def _itemsize(xp, dtype) -> int:
    if xp.isdtype(dtype, "complex floating"):
        return 2 * xp.finfo(dtype).bits // 8
    return xp.finfo(dtype).bits // 8
