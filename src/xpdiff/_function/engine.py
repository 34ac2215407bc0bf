"""The engine of function mode: checked arguments, evaluation under the budget, combination.

grad, jacobian, genD and hessian each build a host-side scheme
(``_schemes``), then call :func:`run`, which lays its point families out
in a flat order, splits them into calls of func (``max_batch``, the memory
budget, the workers) and into *units* of whole groups for the combination,
builds each call's points (``_points``), hands them to the evaluator that
the arguments chose (``_evaluators``), and combines each unit as soon as its
values are in. Units depend on the memory budget alone, never on how the
calls were split, so that results do not depend on ``max_batch`` or
``workers``. :func:`combine_linear` is the combination of numDeriv's
methods: one weighted reduction over the values of each group.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _backend, _budget, _validation
from . import evaluators as _evaluators
from . import fastpath as _fastpath
from . import points as _points
from . import settings as _settings

__all__ = ["Problem", "combine_linear", "parse_sides", "run", "setup", "value_at_x"]


@dataclass(slots=True)
class Problem:
    """The checked arguments of one derivative."""

    xp: Any
    device: Any
    method: str
    settings: Any  # _settings.Settings, or _settings.AdaptiveSettings for method="adaptive"
    sides: tuple
    one_sided: bool  # some coordinate has a side
    evaluator: _evaluators.Evaluator
    x: Any  # the point(s), (n, *B), real floating; never given to func
    shape: tuple  # the caller's x shape
    n: int
    batch_shape: tuple
    size: int
    max_batch: int | None
    full_output: bool
    budget: int

    @property
    def dtype(self):
        return self.x.dtype

    def base_points(self):
        """``x`` as ``(n, 1, 1, size)`` and as ``(1, n, 1, size)`` (see ``_points``)."""
        xp = self.xp
        x4 = xp.reshape(self.x, (self.n, 1, 1, self.size))
        xg = xp.reshape(self.x, (1, self.n, 1, self.size))
        return x4, xg


# --- arguments ---------------------------------------------------------------------------


def _real_point(xp, x):
    """``x`` as a real floating array: integers and bools to float64, float16 to float32."""
    dtype = x.dtype
    if dtype == xp.float64 or dtype == xp.float32:
        return x
    if xp.isdtype(dtype, "complex floating"):
        raise TypeError(f"x must be real, got dtype {dtype}")
    if xp.isdtype(dtype, ("integral", "bool")):
        return xp.astype(x, _backend.widest_float(xp))
    if not xp.isdtype(dtype, "real floating"):
        raise TypeError(f"x must be a real array, got dtype {dtype}")
    return xp.astype(x, xp.float32)  # float16 and other short floats


_MACHINE_EPS: dict = {}


def machine_eps(xp, dtype) -> float:
    """The machine epsilon of a real floating ``dtype`` (cached per library and dtype)."""
    key = (type(dtype).__module__, dtype)
    eps = _MACHINE_EPS.get(key)
    if eps is None:
        eps = _MACHINE_EPS[key] = float(xp.finfo(dtype).eps)
    return eps


#: numDeriv's side per coordinate (kept here for callers of the engine)
parse_sides = _validation.sides


def setup(
    func,
    x,
    method,
    side,
    method_args,
    *,
    args,
    kwargs,
    vectorized,
    max_batch,
    workers,
    full_output,
    methods: tuple[str, ...] = _settings.METHODS,
    function: str = "grad",
    defaults: dict | None = None,
    derivative_order: int = 1,
) -> Problem:
    """Check the arguments that every function-mode call shares."""
    method = _settings.canonical_method(method, methods, function)
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if kwargs is None:
        kwargs = {}
    elif not isinstance(kwargs, dict):
        raise TypeError(f"kwargs must be a dict or None, got {type(kwargs).__name__}")
    if type(args) is not tuple:
        args = tuple(args) if isinstance(args, tuple) else (args,)
    vectorized = _validation.check_bool("vectorized", vectorized)
    full_output = _validation.check_bool("full_output", full_output)
    max_batch = _validation.check_max_batch(max_batch)
    if type(x) is not np.ndarray and isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            "x is a masked array: function mode cannot honour a mask (every coordinate "
            "is perturbed); pass x.filled(...) or the unmasked coordinates as a plain array"
        )
    xp, x = _backend.array_namespace(x)
    device = _backend.device_of(x)
    x = _real_point(xp, x)
    shape = tuple(x.shape)
    n = shape[0] if shape else 1
    if n == 0:
        raise ValueError("x must have at least one coordinate")
    if not shape:
        x = xp.reshape(x, (1,))
    batch_shape = shape[1:]
    size = math.prod(batch_shape)
    sides = _validation.sides(side, n)
    settings = _settings.method_settings(
        method,
        method_args,
        machine_eps(xp, x.dtype),
        defaults=defaults,
        derivative_order=derivative_order,
    )
    evaluator = _evaluators.evaluator_for(
        func,
        args,
        kwargs,
        vectorized=vectorized,
        workers=workers,
        complex_batch=method == "complex",
    )
    return Problem(
        xp,
        device,
        method,
        settings,
        sides,
        side is not None and any(not math.isnan(s) for s in sides),
        evaluator,
        x,
        shape,
        n,
        batch_shape,
        size,
        max_batch,
        full_output,
        _budget.get_memory_budget(x),
    )


def value_at_x(problem: Problem):
    """func at x, on a copy of x that xpdiff owns; returns (f0, head)."""
    xp = problem.xp
    if problem.size == 0 and not may_mix(problem.evaluator):
        # func one point at a time, and no point: a scalar function's (empty) values
        return _empty(xp, problem, problem.batch_shape), ()
    f0 = problem.evaluator.at(xp, _backend.copy(xp, problem.x), problem.device)
    head = tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    if problem.method == "complex":
        kind = getattr(f0.dtype, "kind", None)  # NumPy's dtypes say it cheaply
        if kind == "c" or (kind is None and xp.isdtype(f0.dtype, "complex floating")):
            _check_real_valued(xp, f0)
    return f0, head


def _check_real_valued(xp, f0) -> None:
    """The complex step differentiates real functions: refuse complex values at real x."""
    if _backend.is_traced(f0) or _backend.library_name(f0) == "dask":
        return  # no values to look at yet
    if bool(xp.any(xp.imag(f0) != 0)):
        raise ValueError(
            "func returns complex values at the real point x (a nonzero imaginary part): "
            "method 'complex' takes the imaginary part of func at x + ih as the derivative, "
            "so it needs a real-valued func; differentiate the real and imaginary parts as "
            "two outputs with method 'Richardson' or 'simple'."
        )


# --- layout: calls and units under the budget ----------------------------------------------


class _Unit:
    """Groups ``g0 .. g1 - 1`` of a family around base points ``b0 .. b1 - 1``.

    Its values are the flat points ``start .. end - 1``, combined together;
    ``last`` marks the family's last unit.
    """

    __slots__ = ("b0", "b1", "end", "family", "g0", "g1", "index", "last", "start")

    def __init__(self, index, family, g0, g1, b0, b1, segment_start):
        self.index, self.family, self.g0, self.g1, self.b0, self.b1 = index, family, g0, g1, b0, b1
        self.start = segment_start + g0 * family.sets * (b1 - b0)
        self.end = segment_start + g1 * family.sets * (b1 - b0)
        self.last = False


class _Layout:
    """Where every point goes: the calls (flat ranges, rectangles, padding) and the units."""

    __slots__ = ("calls", "in_flight", "total", "units")
    calls: list
    in_flight: int
    total: int
    units: list


_ITEMSIZE: dict = {}


def itemsize_of(xp, dtype) -> int:
    """Bytes per element of a floating ``dtype`` (cached per library and dtype)."""
    key = (type(dtype).__module__, dtype)
    size = _ITEMSIZE.get(key)
    if size is None:
        bits = xp.finfo(dtype).bits
        size = 2 * bits // 8 if xp.isdtype(dtype, "complex floating") else bits // 8
        _ITEMSIZE[key] = size
    return size


_itemsize = itemsize_of  # the old name, until adaptive.py uses itemsize_of


@functools.lru_cache(maxsize=128)
def _layout(
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
) -> _Layout:
    """Segments, units and calls of ``families`` around ``size`` base points (cached).

    With ``copy``, two more points follow the last (``EXTRA``): an
    unperturbed copy of base point 0 in the last call, whose value tells a
    func that mixes the points of a batch (:func:`check_not_mixing`), and a
    sentinel (:func:`sentinel_direction`) that shifts any reduction over
    the batch; left out where the calls have no room for them (``max_batch``
    filled exactly, or one point per call: a func cannot mix points then),
    so they never cost a call.
    """
    available = max(0, budget - kept_bytes)
    # held at once: the points and values of a call and of the one before it, while a
    # unit spans both, and a unit's values (joined from the calls) with one temporary of
    # their size: a quarter of what the result leaves for each
    in_flight = max(1, available // 4 // (n * point_bytes + m * value_bytes))
    unit_points = max(1, available // 4 // (m * value_bytes))

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
                unit = _Unit(index, family, g0, min(g0 + per_unit, family.groups), b0, b1, start)
                units.append(unit)
            start = units[-1].end
        units[-1].last = True
    total = start

    per_call = in_flight if min_calls == 1 else max(1, in_flight // min_calls)
    if max_batch is not None:
        per_call = min(per_call, max_batch) if min_calls == 1 else max_batch
    count = min(total, max(-(-total // per_call), min_calls))
    bounds = [total * c // count for c in range(count + 1)]
    # the copy and the sentinel join the last call where it has room: never one more call
    copy = copy and bounds[-1] - bounds[-2] + EXTRA <= per_call
    bounds[-1] += EXTRA * copy
    layout = _Layout()
    # (first, end, rectangles, pad, copy): the copy is the last call's last kept point
    layout.calls = [
        (
            p0,
            min(p1, total),
            _rectangles(segments, p0, min(p1, total)),
            p1 - p0 == n > 1,
            p1 > total,
        )
        for p0, p1 in itertools.pairwise(bounds)
    ]
    layout.units, layout.total, layout.in_flight = units, total, in_flight
    return layout


def _rectangles(segments, p0: int, p1: int) -> list:
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


def _take_range(xp, pending: list, u0: int, u1: int):
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


class _Assembly:
    """A family's unit results joined: groups along axis 1, base points along the last.

    NumPy writes each unit into one array made at the first unit, so that the
    result exists once; other libraries join the units with ``concat`` at the
    end (JAX arrays cannot be written to), which holds the result twice.
    """

    def __init__(self, xp, groups: int, size: int):
        self.xp, self.groups, self.size = xp, groups, size
        self.pieces: list = []
        self.out: Any = None

    def add(self, unit, piece) -> None:
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

    def result(self):
        if self.out is not None:
            return self.out
        pieces, xp = self.pieces, self.xp
        if len(pieces) == 1:
            return pieces[0][1]
        rows: list[list] = []
        for block, piece in pieces:
            if not rows or rows[-1][0] != block:
                rows.append([block, []])
            rows[-1][1].append(piece)
        joined = [parts[0] if len(parts) == 1 else xp.concat(parts, axis=1) for _, parts in rows]
        return joined[0] if len(joined) == 1 else xp.concat(joined, axis=-1)


def run(
    problem,
    families,
    head: tuple,
    combine_unit,
    *,
    x4,
    xg,
    hg,
    kept_bytes: int = 0,
    f0=None,
    x_base=None,
):
    """Evaluate every point of ``families`` and combine them unit by unit.

    ``combine_unit(index, (g0, g1), (b0, b1), values)`` gets the family's
    index, the unit's groups and base points and its values, shaped
    ``(m, g1 - g0, sets, b1 - b0)``, and returns an array whose axis 1 is
    the groups and whose last axis the base points. Returns, per family, its
    units' results joined. ``x4``, ``xg`` are the base points shaped
    ``(n, 1, 1, size)`` and ``(1, n, 1, size)``, ``hg`` the steps like
    ``xg``; ``kept_bytes`` is what the caller holds meanwhile (the result),
    which the budget counts. ``f0``, func at the base points (``head +
    batch shape``), asks for the check that func does not mix the points of
    a batch (:func:`check_not_mixing`): two more points, no more calls;
    ``x_base`` ``(n, 1, 1, size)`` holds those base points where ``x4`` is
    other points (the complex Hessian's).
    """
    xp = problem.xp
    size = x4.shape[3]
    m = math.prod(head)
    point_dtype = _points.points_dtype(xp, families[0], x4.dtype)
    if size == 0:  # an empty batch: no point to evaluate, results of the right shape
        return [
            combine_unit(
                i,
                (0, f.groups),
                (0, 0),
                _empty(xp, problem, (m, f.groups, f.sets, 0), point_dtype),
            )
            for i, f in enumerate(families)
        ]
    itemsize = itemsize_of(xp, point_dtype)
    evaluator = problem.evaluator
    layout = _layout(
        tuple(families),
        problem.n,
        size,
        m,
        problem.budget,
        kept_bytes,
        itemsize,
        itemsize,
        problem.max_batch,
        evaluator.min_calls,
        f0 is not None and may_mix(evaluator, x4),
    )
    evaluator.wave_points = layout.in_flight

    sentinel = sentinel_direction(problem)

    def chunks():
        for p0, p1, rects, pad, copy in layout.calls:
            points = _points.build(
                xp,
                rects,
                x4,
                xg,
                hg,
                point_dtype,
                pad,
                copy=sentinel if copy else None,
                copy_base=x_base,
            )
            yield points, p1 - p0 + EXTRA * copy

    def values_of(values, p0, p1, copy):
        """The scheme's values ``(m, p1 - p0)`` of a call, its copy's checked."""
        if copy:
            values = xp.reshape(values, (m, p1 - p0 + EXTRA))
            check_not_mixing(xp, problem, values, f0)
            values = values[:, : p1 - p0]
            evaluator.nfev -= EXTRA  # nfev counts the derivative's points, not the check
        return values

    if len(layout.calls) == 1 and len(layout.units) == len(families) and evaluator.min_calls == 1:
        return _run_one_call(layout, chunks(), head, m, combine_unit, values_of, problem)
    return _evaluate(problem, layout, chunks(), head, m, combine_unit, size, values_of)


def _empty(xp, problem, shape, dtype=None):
    dtype = problem.dtype if dtype is None else dtype
    return xp.zeros(shape, dtype=dtype, device=problem.device)


#: points added to the last call for the check that func does not mix points: a copy of
#: base point 0, then the sentinel
EXTRA = 2

#: the sentinel's offset from base point 0, per coordinate: SENTINEL * (|x| + 1)
SENTINEL = 0.0625


def sentinel_direction(problem) -> np.ndarray:
    """The sentinel's move from base point 0: ``SENTINEL`` times +1 or -1 per coordinate.

    The sentinel is base point 0 moved by ``SENTINEL * (|x| + 1)`` on every
    coordinate: towards the coordinate's side where the caller gave one (it
    stays on the side where func is evaluated anyway); elsewhere up for
    Richardson, whose central points already reach below and above x, and
    down for the forward-only points of "simple" and the complex step, so
    that the batch holds a coordinate below every other (a ``min`` over
    the batch changes) as well as above (``max``). Its moves never cancel:
    it shifts a mean or sum over the batch even where the scheme's points
    are symmetric about x (Richardson's central batch averages back to x).
    """
    sides = np.array(problem.sides, dtype=np.float64)
    default = 1.0 if problem.method == "Richardson" else -1.0
    sides = np.where(np.isnan(sides), default, np.sign(sides))
    return np.broadcast_to(sides * SENTINEL, (problem.n,))


def may_mix(evaluator, x=None) -> bool:
    """Whether func gets several points per call (vectorized), so that it could mix them.

    With ``x``: and whether the check can look at values without a device
    synchronisation (see :func:`values_in_host_memory`).
    """
    if x is not None and not values_in_host_memory(x):
        return False
    return getattr(evaluator, "vectorized", type(evaluator) is not _evaluators.Pointwise)


def values_in_host_memory(x) -> bool:
    """Whether reading a value of ``x`` is a memory read, not a device synchronisation.

    NumPy arrays, PyTorch tensors on the CPU and eager JAX arrays on the CPU:
    function mode never synchronises a device (tests/test_function_no_sync.py),
    so the check that func does not mix points runs only on these. CuPy, a GPU's
    tensors, array-api-strict (the tests' stand-in for a device), Dask and
    ``jax.jit`` are not checked.
    """
    if type(x) is np.ndarray:
        return True
    name = _backend.library_name(x)
    if name == "torch":
        return getattr(x.device, "type", None) == "cpu"
    if name == "jax" and not _backend.is_traced(x):
        devices = x.devices() if callable(getattr(x, "devices", None)) else ()
        return bool(devices) and all(d.platform == "cpu" for d in devices)
    return False


def check_not_mixing(xp, problem, values, f0) -> None:
    """ValueError if func's value at the batch's copy of x is not its value at x alone.

    ``values`` ``(m, points)`` are a call's, the copy of base point 0's the
    last but one (the last is the sentinel's, unchecked: it is there to
    shift reductions over the batch). An honest vectorized func gives each
    point of a batch the value it gives that point alone (to rounding:
    sqrt(eps) of the largest value of the call, which a reduction's
    rounding stays far below even where its terms cancel, and the same
    finiteness; the complex step's copy, a real point, must have no
    imaginary part). A func that reduces over the whole array
    (``np.sum(x)`` without ``axis=0``, ``np.mean(x)``, ``x.max()``,
    ``np.linalg.norm(x)``) gives every point a value that depends on the
    others: a derivative from it would be wrong without a word. Off NumPy
    (PyTorch and JAX on the CPU: :func:`values_in_host_memory`), the answer
    is one scalar read per derivative, a memory read.
    """
    copy_value = values[:, -EXTRA]
    at_x = xp.reshape(f0, (copy_value.shape[0], -1))[:, 0]
    numpy = type(values) is np.ndarray
    if numpy and (copy_value == at_x).all():  # the common case: the same bits
        return
    eps = machine_eps(xp, problem.dtype)
    kept = values[:, : values.shape[1] - EXTRA + 1]  # the sentinel's value is not the scale
    with np.errstate(all="ignore"):
        finite = xp.isfinite(at_x)
        differs = finite != xp.isfinite(copy_value)
        if xp.isdtype(copy_value.dtype, "complex floating"):
            differs = differs | (finite & (xp.imag(copy_value) != 0))
            copy_value = xp.real(copy_value)
            kept = xp.real(kept)
        absolute = xp.where(xp.isfinite(kept), xp.abs(kept), 0.0)
        scale = xp.maximum(xp.abs(at_x), xp.max(absolute, axis=1))
        gap = xp.abs(copy_value - at_x)
        differs = differs | (finite & (gap > math.sqrt(eps) * scale))
        if not bool(xp.any(differs)):  # one scalar read, in host memory
            return
    raise ValueError(
        "func mixes the points of a batch: its value at an unperturbed copy of x, "
        "evaluated in the batch, differs from its value at x alone. A vectorized func "
        "gets the points side by side (coordinates on axis 0, points on the trailing "
        "axes) and must reduce over the coordinates only: np.sum(x, axis=0), not "
        "np.sum(x), x.max() or np.linalg.norm(x) without axis=0. A func written for "
        "one point works with vectorized=False."
    )


def _run_one_call(layout, chunks, head, m, combine_unit, values_of, problem):
    """Everything in one call and one unit per family: the same steps, without the loop."""
    xp = problem.xp
    p0, p1, _, _, copy = layout.calls[0]
    with problem.evaluator as evaluator:
        (values,) = evaluator.batches(xp, chunks, head, problem.device)
    values = values_of(values, p0, p1, copy)
    results = []
    for unit in layout.units:
        unit_values = values if len(layout.units) == 1 else values[..., unit.start : unit.end]
        shape = (m, unit.g1 - unit.g0, unit.family.sets, unit.b1 - unit.b0)
        results.append(
            combine_unit(
                unit.index, (unit.g0, unit.g1), (unit.b0, unit.b1), xp.reshape(unit_values, shape)
            )
        )
    return results


def _evaluate(problem, layout, chunks, head, m, combine_unit, size, values_of):
    xp, device = problem.xp, problem.device
    units, done, pending = layout.units, [], []
    next_unit = 0
    assembly = None

    def finish(unit, values):
        nonlocal assembly
        shape = (m, unit.g1 - unit.g0, unit.family.sets, unit.b1 - unit.b0)
        result = combine_unit(
            unit.index, (unit.g0, unit.g1), (unit.b0, unit.b1), xp.reshape(values, shape)
        )
        if assembly is None:
            assembly = _Assembly(xp, unit.family.groups, size)
        assembly.add(unit, result)
        if unit.last:
            done.append(assembly.result())
            assembly = None

    with problem.evaluator as evaluator:
        values_iter = evaluator.batches(xp, chunks, head, device)
        for (p0, p1, _, _, copy), values in zip(layout.calls, values_iter, strict=True):
            values = values_of(values, p0, p1, copy)
            unit = units[next_unit]
            if not pending and unit.start == p0 and unit.end == p1:
                next_unit += 1  # the call is exactly one unit: no copy
                finish(unit, values)
                continue
            pending.append((p0, xp.reshape(values, (m, p1 - p0))))
            while next_unit < len(units) and units[next_unit].end <= p1:
                unit = units[next_unit]
                next_unit += 1
                unit_values = _take_range(xp, pending, unit.start, unit.end)
                pending = [(s, v) for s, v in pending if s + v.shape[-1] > unit.end]
                finish(unit, unit_values)
    return done


# --- numDeriv's linear combination ---------------------------------------------------------


def run_linear(
    problem,
    scheme,
    f0,
    head: tuple,
    hg,
    *,
    x4,
    xg,
    elementwise: bool = False,
    finish: bool = True,
    own_base: bool = False,
    at_x=None,
):
    """Evaluate a :class:`_schemes.LinearScheme`: its outputs ``(m, G, Q', size)``.

    ``f0`` is func at the base points, ``(m, size)`` (unused by the complex
    step); ``hg`` the steps ``(1, n, 1, size)``, or ``(n, 1, 1, size)`` for
    an elementwise function (None for absolute families). The outputs are
    the scheme's weighted sums (Q of them), then with ``full_output`` their
    error estimates (Q), then, when the scheme has level weights, the
    table's levels. First derivatives are divided by their step; with
    ``finish`` a non-finite output is NaN. ``x4``, ``xg`` are the base
    points (``Problem.base_points``), ``own_base`` true when they are not the
    problem's x; then ``at_x``, func at the problem's x, asks for the check
    that func does not mix points (a copy of x in the batch). Where the
    layout is one call and one unit of NumPy arrays around x, the NumPy
    executor (``_fastpath``) does the work, to the same bits.
    """
    xp, device = problem.xp, problem.device
    size = x4.shape[3]
    m = math.prod(head)
    family = scheme.family
    dtype = problem.dtype
    weights = _backend.host_to_device(scheme.weights, xp, device, dtype)
    error = levels = None
    if (problem.full_output or scheme.select) and scheme.error is not None:
        error = _backend.host_to_device(scheme.error, xp, device, dtype)
    if scheme.levels is not None:
        levels = _backend.host_to_device(scheme.levels, xp, device, dtype)
    # func at x, for the check that func does not mix points (not around other base points)
    at_x = at_x if own_base else f0
    if f0 is not None and scheme.part == "real":
        f0 = xp.reshape(f0, (m, 1, 1, size))
    step = hg if scheme.divide_by_step else None  # (1, n, 1, size), elementwise (n, 1, 1, size)
    outputs = (1 + (error is not None)) * scheme.weights.shape[1]
    outputs += 0 if levels is None else levels.shape[1]
    rows_bytes = outputs * m * family.groups * size * itemsize_of(xp, dtype)
    kept = rows_bytes * (1 if _backend.is_numpy_namespace(xp) else 2)
    if not own_base and size:
        layout = _linear_layout(
            problem, family, m, kept, at_x is not None and may_mix(problem.evaluator, x4)
        )
        if _fastpath.applies(problem, scheme, (len(layout.calls), len(layout.units))):
            at_x = at_x if layout.calls[-1][4] else None  # no room in the call: no check
            return _fastpath.linear_rows(
                problem, scheme, f0, head, hg, step, weights, error, levels, finish, at_x
            )
    per_group = weights.shape[0] > 1 and not elementwise
    groups_all = (0, family.groups)

    def combine(index, groups, blocks, values):
        w, e, s, f = weights, error, step, f0
        if groups != groups_all:
            if per_group:
                w = w[groups[0] : groups[1], ...]
                e = e if e is None else e[groups[0] : groups[1], ...]
            if s is not None and not elementwise:
                s = s[:, groups[0] : groups[1], ...]
        if blocks != (0, size):
            s = s if s is None else s[..., blocks[0] : blocks[1]]
            f = f if f is None else f[..., blocks[0] : blocks[1]]
        return combine_linear(xp, scheme, values, f, w, s, e, levels, finish)

    x_base = problem.base_points()[0] if own_base and at_x is not None else None
    (rows,) = run(
        problem,
        [family],
        head,
        combine,
        x4=x4,
        xg=xg,
        hg=hg,
        kept_bytes=kept,
        f0=at_x,
        x_base=x_base,
    )
    return rows


def _linear_layout(problem, family, m: int, kept: int, check: bool) -> _Layout:
    """The layout of one linear scheme's family around the problem's x."""
    point_bytes = itemsize_of(problem.xp, _points.points_dtype(problem.xp, family, problem.dtype))
    return _layout(
        (family,),
        problem.n,
        problem.size,
        m,
        problem.budget,
        kept,
        point_bytes,
        point_bytes,
        problem.max_batch,
        problem.evaluator.min_calls,
        check,
    )


def combine_linear(xp, scheme, values, f0, weights, step, error, levels, finish):
    """The outputs of one unit of a :class:`_schemes.LinearScheme`: ``(m, G, Q', B)``.

    ``values`` is ``(m, G, L, B)``; ``f0`` the function at the base points,
    ``(m, 1, 1, B)`` (not used by the complex step); ``weights``, ``error``
    and ``levels`` the scheme's weights on the device (the last two may be
    None); ``step`` the divisor, broadcasting against ``(m, G, 1, B)``, or
    None. For the complex step a value that is not finite, real or
    imaginary part, becomes NaN before its imaginary part is taken.
    """
    with np.errstate(all="ignore"):  # NaN and inf are answers here, not NumPy warnings
        if scheme.part == "imag":
            values = xp.where(xp.isfinite(values), xp.imag(values), math.nan)
        else:
            values = values - f0
        rows = weights @ values
        if step is not None:
            rows = rows / step
        if finish and scheme.part == "real":  # the complex step's values are checked above
            rows = xp.where(xp.isfinite(rows), rows, math.nan)
        if error is None and levels is None:
            return rows
        parts = [rows]
        for extra in (error, levels):
            if extra is not None:
                part = extra @ values
                part = part / step if step is not None else part
                parts.append(xp.abs(part) if extra is error else part)
        return xp.concat(parts, axis=2)
