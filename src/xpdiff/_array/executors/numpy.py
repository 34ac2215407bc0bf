"""The NumPy executor: a plan written into one output array, in cache-sized blocks.

numpy.gradient computes each formula on whole slices, so a central
difference makes a temporary of the array's size, divides it, and copies it
into the output: about five passes over memory, forty with coordinates. This
executor computes the same formulas with ufuncs (``out=``) block by block,
each block small enough to stay in cache, straight into the output where the
formula's dtype is the output's: one read of the data and one write of the
result. The operations and their order are numpy.gradient's, so the values
are the same to the bit (the small-primitive rule of docs/architecture.md); the generic
executor stays the path of every other library.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, NamedTuple

import numpy as np

from .common import along, is_weak, work_dtype

__all__ = ["apply"]

#: elements of one block: 512 KiB of float64, three of which (data, scratch, output) fit L2
BLOCK_ELEMENTS = 1 << 16
#: plans whose groups of single rows are kept (by id, with a weak reference to the plan)
MAX_GROUPED_PLANS = 64

_ROW_GROUPS: dict[int, tuple[Any, list]] = {}


def apply(xp: Any, f: np.ndarray, plan: Any, out_dtype: Any, like: Any = None) -> np.ndarray:
    """``plan`` carried out on ``f``: a new array in ``out_dtype``.

    It has ``f``'s shape, but for ``plan.length`` rows along the plan's axis
    (fewer than ``f``'s for a Dask chunk given with its halo).

    Regions whose weights are the same for every row are computed along the
    flat memory of ``f`` first: one contiguous range covers them in every
    slab of the outer axes, rows of other regions included, whose values are
    then overwritten with their own formulas. Contiguous ranges are several
    times faster than the same arithmetic on strided views (differences
    along the last axis).
    """
    shape = list(f.shape)
    shape[plan.axis] = plan.length
    out = np.empty(tuple(shape), dtype=out_dtype)
    # one flat offset serves output and sources while their slabs have one size
    same_slabs = plan.length == f.shape[plan.axis] or math.prod(f.shape[: plan.axis]) == 1
    flat = f.flags.c_contiguous and f.ndim > 0 and same_slabs
    uniform = [r for r in plan.regions if flat and r.rows > 1 and _same_weights_every_row(r)]
    for region in uniform:
        _flat_region_into(out, f, plan.axis, region)
    done = {id(region) for region in uniform}
    for group in _row_groups(plan):
        _rows_into(out, f, plan.axis, group)
        done.update(id(region) for region in group.regions)
    for region in plan.regions:
        if region.rows and id(region) not in done:
            _region_into(out, f, plan.axis, region)
    return out


class RowGroup(NamedTuple):
    """Single-row regions of one formula's shape, computed together (edge rows)."""

    regions: tuple
    rows: np.ndarray  # the output rows, one per region
    sources: list  # per term: the source row of each region
    weights: list  # per term: the weight of each region (one dtype)


def _row_groups(plan: Any) -> list[RowGroup]:
    """The plan's single-row regions with per-row weights, by number of terms and dtype.

    The edge rows of a non-uniform grid are each a region of their own (a
    stencil of its own window); a weighted sum over a few single rows costs
    two ufunc calls per term, so rows of the same shape of formula are
    gathered and computed at once, with the same operations per element
    (the same bits). Kept per plan (plans are cached and immutable); a group
    holds its few rows' weights, never the plan's.
    """
    kept = _ROW_GROUPS.get(id(plan))
    if kept is not None and kept[0]() is plan:
        return kept[1]
    by_shape: dict[tuple, list] = {}
    for region in plan.regions:
        weights = [t.weight for t in region.terms]
        if region.rows != 1 or region.kind != "sum" or region.lazy_weights is not None:
            continue
        single = all(type(w) is np.ndarray and w.size == 1 and w.ndim < 2 for w in weights)
        if single and len({w.dtype for w in weights}) == 1:
            by_shape.setdefault((len(weights), weights[0].dtype), []).append(region)
    groups = [
        RowGroup(
            tuple(members),
            np.array([r.start for r in members]),
            [np.array([m.terms[k].start for m in members]) for k in range(n)],
            [np.concatenate([m.terms[k].weight.reshape(1) for m in members]) for k in range(n)],
        )
        for (n, _), members in by_shape.items()
        if len(members) > 1
    ]
    if len(_ROW_GROUPS) >= MAX_GROUPED_PLANS:
        _ROW_GROUPS.clear()
    # a weak reference: the plan's weights are not kept alive here, and a dead
    # plan's id, taken again by a new plan, is never mistaken for it
    _ROW_GROUPS[id(plan)] = (weakref.ref(plan), groups)
    return groups


def _rows_into(out: np.ndarray, f: np.ndarray, axis: int, group: RowGroup) -> None:
    """A group's rows: ``w_0 s_0 + w_1 s_1 + ...`` as ``_formula_into`` computes each row."""
    work = np.dtype(work_dtype(np, f.dtype, group.regions[0]))
    total = scratch = None
    for weight, rows in zip(group.weights, group.sources, strict=True):
        weight = along(np, weight, f.ndim, axis)
        source = np.take(f, rows, axis=axis)
        if total is None:
            total = np.multiply(weight, source, dtype=work)
            continue
        scratch = np.multiply(weight, source, out=scratch, dtype=work)
        np.add(total, scratch, out=total)
    index: Any = (*(slice(None),) * axis, group.rows)
    out[index] = total  # the output's dtype, as np.copyto(casting="unsafe")


def _same_weights_every_row(region: Any) -> bool:
    return region.lazy_weights is None and all(
        is_weak(t.weight) or t.weight is None or getattr(t.weight, "ndim", 0) == 0
        for t in region.terms
    )


def _flat_region_into(out: np.ndarray, f: np.ndarray, axis: int, region: Any) -> None:
    """A region with one formula for all rows, over the flat memory, in blocks."""
    stride = math.prod(f.shape[axis + 1 :])
    slabs, length = math.prod(f.shape[:axis]), f.shape[axis]
    first = region.start * stride
    stop = (slabs - 1) * length * stride + region.stop * stride
    flat_out, flat_f = out.reshape(-1), f.reshape(-1)
    shifts = [(term.start - region.start) * stride for term in region.terms]
    work = np.dtype(work_dtype(np, f.dtype, region))
    direct = work == out.dtype
    weights = region.weights()
    for p0 in range(first, stop, BLOCK_ELEMENTS):
        p1 = min(p0 + BLOCK_ELEMENTS, stop)
        sources = [flat_f[p0 + shift : p1 + shift] for shift in shifts]
        _formula_into(flat_out[p0:p1], sources, weights, region, f.dtype, work, direct)


def _blocks(shape: tuple, axis: int, region: Any) -> Any:
    """(output index, source index for a start, per-row weight slice) of each block.

    Blocks run along axis 0, the outermost in memory: rows of the region when
    the plan's axis is 0, else slabs of the other axes' leading index.
    """
    inner = math.prod(shape[1:]) if shape else 1
    if axis == 0:
        step = max(1, BLOCK_ELEMENTS // max(1, inner))
        for r0 in range(0, region.rows, step):
            r1 = min(r0 + step, region.rows)
            yield (
                (slice(region.start + r0, region.start + r1),),
                lambda start, r0=r0, r1=r1: (slice(start + r0, start + r1),),
                slice(r0, r1),
            )
        return
    per_slab = inner // shape[axis] * region.rows
    step = max(1, BLOCK_ELEMENTS // max(1, per_slab))
    lead = [slice(None)] * (axis - 1)
    for i0 in range(0, shape[0], step):
        i1 = min(i0 + step, shape[0])
        head = (slice(i0, i1), *lead)
        yield (
            (*head, slice(region.start, region.stop)),
            lambda start, head=head: (*head, slice(start, start + region.rows)),
            slice(0, region.rows),
        )


def _region_into(out: np.ndarray, f: np.ndarray, axis: int, region: Any) -> None:
    """Any region, on strided views of ``f`` and ``out``, in blocks along axis 0."""
    work = np.dtype(work_dtype(np, f.dtype, region))
    direct = work == out.dtype
    weights_of: Any = _weights_in_blocks(region) if axis == 0 else None
    every_row: Any = None if axis == 0 else region.weights()
    for out_index, source_index, rows in _blocks(f.shape, axis, region):
        sources = [f[source_index(term.start)] for term in region.terms]
        weights = weights_of(rows.start, rows.stop) if axis == 0 else every_row
        weights = [w if is_weak(w) or w is None else along(np, w, f.ndim, axis) for w in weights]
        _formula_into(out[out_index], sources, weights, region, f.dtype, work, direct)


def _weights_in_blocks(region: Any) -> Any:
    """``region.weights(r0, r1)``, asked of the region ``BLOCK_ELEMENTS`` rows at a time.

    Data blocks along axis 0 may hold few rows (16 rows of 4096 columns);
    computing per-row weights (Fornberg's, on non-uniform grids) for so few
    rows at a time would cost more in calls than in arithmetic.
    """
    if region.lazy_weights is None:
        return region.weights
    cache: dict[int, list] = {}

    def weights(r0: Any, r1: Any) -> Any:
        b0 = r0 // BLOCK_ELEMENTS * BLOCK_ELEMENTS
        if (r1 - 1) // BLOCK_ELEMENTS * BLOCK_ELEMENTS != b0:
            return region.weights(r0, r1)  # a data block across two weight blocks
        if b0 not in cache:
            cache.clear()
            cache[b0] = region.weights(b0, min(b0 + BLOCK_ELEMENTS, region.rows))
        return [w if getattr(w, "ndim", 0) != 1 else w[r0 - b0 : r1 - b0] for w in cache[b0]]

    return weights


def _formula_into(
    target: Any, sources: Any, weights: Any, region: Any, data_dtype: Any, work: Any, direct: Any
) -> None:
    """``region``'s formula of ``sources`` into ``target``, computed in ``work``."""
    if region.kind == "difference":
        # numpy.gradient: the difference in the data's dtype, then the division
        if direct and data_dtype == work:
            np.subtract(sources[0], sources[1], out=target)
            np.divide(target, region.divisor, out=target)
        else:
            quotient = np.divide(np.subtract(sources[0], sources[1]), region.divisor)
            np.copyto(target, quotient, casting="unsafe")
        return
    total = target if direct else np.empty(target.shape, dtype=work)
    scratch = None
    if region.kind == "pairs":
        combine = np.subtract if region.sign < 0 else np.add
        for k in range(0, len(sources) - 1, 2):
            part = total if k == 0 else scratch
            if part is None:
                part = scratch = np.empty(total.shape, dtype=work)
            combine(sources[k], sources[k + 1], out=part)
            np.multiply(part, weights[k], out=part)
            if k:
                np.add(total, part, out=total)
        if len(sources) % 2:
            if scratch is None:
                scratch = np.empty(total.shape, dtype=work)
            np.multiply(weights[-1], sources[-1], out=scratch)
            np.add(total, scratch, out=total)
        if not direct:
            np.copyto(target, total, casting="unsafe")
        return
    for k, (weight, source) in enumerate(zip(weights, sources, strict=True)):
        if k == 0:
            np.multiply(weight, source, out=total)
            continue
        if scratch is None:
            scratch = np.empty(total.shape, dtype=work)
        np.multiply(weight, source, out=scratch)
        np.add(total, scratch, out=total)
    if not direct:
        np.copyto(target, total, casting="unsafe")
