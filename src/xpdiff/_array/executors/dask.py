"""The Dask executor: one task per output chunk, from its input chunk and a halo.

An axis's plan (``plans.AxisPlan``) says which input rows each output
row reads. For each chunk along the axis this executor finds the rows its
output rows read (the chunk and a few rows on each side: the halo), cuts
those rows out of the neighbouring chunks (one small ``getitem`` task per
neighbour; on a periodic axis the neighbours wrap around), and writes one
task that joins them and runs the chunk library's own executor (NumPy's in
cache-sized blocks, or the generic one for CuPy and other libraries) on a
plan restricted to the chunk's rows. A chunk smaller than the halo lends
its rows whole and the next chunk lends the rest: no rechunking, and the
output keeps the input's chunks.

Plans for Dask data are built on the host (NumPy weights and coordinates);
a chunk gets only the slice of per-row weights or coordinates its rows need
(:meth:`~xpdiff._array.plans.WindowWeights.restrict`), and a chunk of another
library (CuPy) gets them moved to its device inside the task. Nothing is
computed before the user asks.
"""

from __future__ import annotations

import itertools
import math
import operator
from dataclasses import replace
from typing import Any

import numpy as np

from ... import _backend
from ..plans import AxisPlan, Region, Term, WindowWeights

__all__ = ["apply", "check_known_chunks", "host_spacing"]


def host_spacing(value: Any) -> Any:
    """A Dask spacing or coordinate array, computed once and brought to the host.

    Plans for Dask data are made on the host; coordinates are one small 1-d
    array per axis, so this is the one computation ``gradient`` does before
    the user asks (the same as numpy.gradient's check of uniform spacing).
    Anything else is returned as it is.
    """
    if not _backend.is_array(value) or _backend.library_name(value) != "dask":
        return value
    computed = value.compute()
    return computed if isinstance(computed, np.ndarray) else _backend.to_host(computed)


def check_known_chunks(f: Any, axes: tuple[int, ...]) -> None:
    """A ValueError where an axis to differentiate has chunks of unknown size."""
    for axis in axes:
        if any(math.isnan(size) for size in f.chunks[axis]):
            raise ValueError(
                f"the Dask array has chunks of unknown size along axis {axis} (shape "
                f"{f.shape}), as after boolean indexing; call f.compute_chunk_sizes() "
                f"first, or give the array with known chunks"
            )


def apply(xp: Any, f: Any, plan: AxisPlan, out_dtype: Any, like: Any = None) -> Any:
    """``plan`` carried out on the Dask array ``f``: a lazy array of its shape and chunks."""
    import uuid  # here, not at import time: only Dask data needs it

    da, HighLevelGraph = _backend.dask_graph_tools()

    axis = plan.axis
    chunks = f.chunks[axis]
    bounds = np.cumsum((0, *chunks)).tolist()
    token = uuid.uuid4().hex
    name = f"xpdiff-gradient-{token}"
    halo_name = f"xpdiff-halo-{token}"
    per_block = [_block_spec(plan, bounds, b) for b in range(len(chunks))]
    plan_keys = {}
    dsk: dict = {}
    for b, (local, _) in enumerate(per_block):
        # a plan is data in the graph, shipped once to each worker that needs it
        plan_keys[b] = (f"xpdiff-plan-{token}", b)
        dsk[plan_keys[b]] = local
    for index in itertools.product(*(range(n) for n in f.numblocks)):
        b = index[axis]
        local, pieces = per_block[b]
        args = []
        for k, (source, r0, r1, whole) in enumerate(pieces):
            key = (f.name, *index[:axis], source, *index[axis + 1 :])
            if whole:
                args.append(key)
                continue
            rows = [slice(None)] * f.ndim
            rows[axis] = slice(r0, r1)
            halo_key = (halo_name, *index, k)
            dsk[halo_key] = (operator.getitem, key, tuple(rows))
            args.append(halo_key)
        out_key = (name, *index)
        dsk[out_key] = (_chunk, plan_keys[b], np.dtype(out_dtype), *args)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[f])
    meta = da.utils.meta_from_array(f._meta, f.ndim, dtype=out_dtype)
    return da.Array(graph, name, f.chunks, meta=meta)


def _block_spec(plan: AxisPlan, bounds: list[int], b: int) -> Any:
    """(plan restricted to chunk ``b``, the pieces of input that it reads).

    A piece is ``(chunk, first row, stop row, whole)`` in that chunk's own
    rows; the pieces, joined in order, hold the input rows from the first
    that the chunk's output reads to the last (unwrapped on a periodic axis).
    """
    g0, g1 = bounds[b], bounds[b + 1]
    length = bounds[-1]
    if len(bounds) == 2:  # one chunk along the axis: the plan as it is
        return plan, [(0, 0, g1 - g0, True)]
    lo, hi = g0, g1
    for region in plan.regions:
        s, t = max(region.start, g0), min(region.stop, g1)
        if s < t:
            for source in region.sources:
                lo = min(lo, source + s - region.start)
                hi = max(hi, source + t - region.start)
    local = AxisPlan(plan.axis, g1 - g0, _local_regions(plan, g0, g1, lo), halo=0, edges=(0, 0))
    pieces = []
    row = lo
    while row < hi:
        wrapped = row % length  # rows beyond the ends exist only on periodic axes
        chunk = int(np.searchsorted(bounds, wrapped, side="right")) - 1
        start = wrapped - bounds[chunk]
        stop = min(bounds[chunk + 1] - bounds[chunk], start + hi - row)
        pieces.append(
            (chunk, start, stop, start == 0 and stop == bounds[chunk + 1] - bounds[chunk])
        )
        row += stop - start
    return local, pieces


def _local_regions(plan: AxisPlan, g0: int, g1: int, lo: int) -> tuple[Region, ...]:
    """The plan's regions over output rows ``g0 .. g1 - 1``, reading rows from ``lo``."""
    regions = []
    for region in plan.regions:
        s, t = max(region.start, g0), min(region.stop, g1)
        if s >= t:
            continue
        r0, r1 = s - region.start, t - region.start
        terms = tuple(
            Term(_rows_of(term.weight, r0, r1), source + r0 - lo)
            for term, source in zip(region.terms, region.sources, strict=True)
        )
        lazy = region.lazy_weights
        if lazy is not None:
            lazy = lazy.restrict(r0, r1) if isinstance(lazy, WindowWeights) else _Shifted(lazy, r0)
        regions.append(
            replace(
                region, start=s - g0, stop=t - g0, terms=terms, lazy_weights=lazy, unwrapped=None
            )
        )
    return tuple(regions)


def _rows_of(weight: Any, r0: int, r1: int) -> Any:
    return weight[r0:r1] if getattr(weight, "ndim", 0) == 1 else weight


class _Shifted:
    """Lazy weights of rows ``offset + r0 ..``: a callable that cannot restrict itself."""

    def __init__(self, lazy: Any, offset: int) -> None:
        self.lazy, self.offset = lazy, offset

    def __call__(self, r0: int, r1: int) -> list:
        return self.lazy(self.offset + r0, self.offset + r1)


def _chunk(plan: AxisPlan, out_dtype: np.dtype, *pieces: Any) -> Any:
    """One output chunk: the pieces joined along the axis, the chunk library's executor."""
    from . import executor_for

    xp, first = _backend.array_namespace(pieces[0])
    data = first if len(pieces) == 1 else xp.concat(list(pieces), axis=plan.axis)
    if not _backend.is_numpy_namespace(xp):
        plan = _on_device(plan, xp, _backend.device_of(data))
        out_dtype = _backend.namespace_dtype(xp, out_dtype)
    return executor_for(xp, data).apply(xp, data, plan, out_dtype)


def _on_device(plan: AxisPlan, xp: Any, device: Any) -> AxisPlan:
    """``plan`` with its host weights moved to ``device`` (a CuPy chunk's GPU)."""

    def move(weight: Any) -> Any:
        if weight is None or type(weight) in (int, float, complex):
            return weight  # Python numbers stay weak scalars
        return _backend.host_to_device(weight, xp, device)

    regions = []
    for region in plan.regions:
        weights = region.weights()  # lazy ones computed here, for this chunk's rows only
        terms = tuple(Term(move(w), t.start) for w, t in zip(weights, region.terms, strict=True))
        regions.append(
            replace(region, terms=terms, divisor=move(region.divisor), lazy_weights=None)
        )
    return replace(plan, regions=tuple(regions))
