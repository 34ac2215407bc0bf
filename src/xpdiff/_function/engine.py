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

import math

import numpy as np

from .. import _backend
from . import fastpath as _fastpath
from . import layout as _layout
from . import mixing as _mixing
from . import points as _points
from .problem import Problem, machine_eps, parse_sides, setup

__all__ = [
    "Problem",
    "combine_linear",
    "machine_eps",
    "parse_sides",
    "run",
    "run_linear",
    "setup",
    "value_at_x",
]


def value_at_x(problem: Problem):
    """func at x, on a copy of x that xpdiff owns; returns (f0, head)."""
    xp = problem.xp
    if problem.size == 0 and not _mixing.may_mix(problem.evaluator):
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
    itemsize = _layout.itemsize_of(xp, point_dtype)
    evaluator = problem.evaluator
    layout = _layout.plan_layout(
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
        f0 is not None and _mixing.may_mix(evaluator, x4),
    )
    evaluator.wave_points = layout.in_flight

    sentinel = _mixing.sentinel_direction(problem)

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
            yield points, p1 - p0 + _mixing.EXTRA * copy

    def values_of(values, p0, p1, copy):
        """The scheme's values ``(m, p1 - p0)`` of a call, its copy's checked."""
        if copy:
            values = xp.reshape(values, (m, p1 - p0 + _mixing.EXTRA))
            _mixing.check_not_mixing(xp, problem, values, f0)
            values = values[:, : p1 - p0]
            evaluator.nfev -= _mixing.EXTRA  # nfev counts the derivative's points, not the check
        return values

    if len(layout.calls) == 1 and len(layout.units) == len(families) and evaluator.min_calls == 1:
        return _run_one_call(layout, chunks(), head, m, combine_unit, values_of, problem)
    return _evaluate(problem, layout, chunks(), head, m, combine_unit, size, values_of)


def _empty(xp, problem, shape, dtype=None):
    dtype = problem.dtype if dtype is None else dtype
    return xp.zeros(shape, dtype=dtype, device=problem.device)


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
            assembly = _layout.Assembly(xp, unit.family.groups, size)
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
                unit_values = _layout.take_range(xp, pending, unit.start, unit.end)
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
    rows_bytes = outputs * m * family.groups * size * _layout.itemsize_of(xp, dtype)
    kept = rows_bytes * (1 if _backend.is_numpy_namespace(xp) else 2)
    if not own_base and size:
        layout = _linear_layout(
            problem, family, m, kept, at_x is not None and _mixing.may_mix(problem.evaluator, x4)
        )
        if _fastpath.applies(problem, scheme, (len(layout.calls), len(layout.units))):
            at_x = at_x if layout.calls[-1][4] else None  # no room in the call: no check
            return _fastpath.linear_rows(
                problem, scheme, f0, head, hg, step, weights, error, levels, finish, at_x
            )
    total = family.groups  # one group when elementwise: its units split base points alone

    def combine(index, groups, blocks, values):
        w = _layout.unit_slice(weights, groups, total, 0)
        e = _layout.unit_slice(error, groups, total, 0)
        s = _layout.unit_slice(_layout.unit_slice(step, groups, total, 1), blocks, size, -1)
        f = _layout.unit_slice(f0, blocks, size, -1)
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


def _linear_layout(problem, family, m: int, kept: int, check: bool) -> _layout.Layout:
    """The layout of one linear scheme's family around the problem's x."""
    point_bytes = _layout.itemsize_of(
        problem.xp, _points.points_dtype(problem.xp, family, problem.dtype)
    )
    return _layout.plan_layout(
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
