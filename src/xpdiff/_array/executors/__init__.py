"""Executors of array mode: they carry an axis's stencil plan out on one library.

A plan (``plans.AxisPlan``) says which output rows of an axis take which
formula of which input rows; an executor writes them. The generic executor
works on every Array API library with slices, arithmetic and ``concat``;
the NumPy executor writes into one output array with ufuncs in cache-sized
blocks. :func:`executor_for` picks one from the data: the only place where
array mode looks at the library. The Dask executor (halo exchange, one task
per chunk) runs one of the others on each chunk; a new library is one
module here and one more line in :func:`executor_for`. CuPy arrays get the
CuPy executor: one CUDA kernel, generated from the plans of all the axes
(``cuda_source``), that reads ``f`` once and writes every axis's output;
:func:`apply_axes` hands an executor all the axes of a call at once.
"""

from __future__ import annotations

from typing import Any

from ... import _backend
from . import cupy as _cupy
from . import dask as _dask
from . import generic as _generic
from . import numpy as _numpy

__all__ = ["apply_axes", "dask_host_spacing", "executor_for"]

dask_host_spacing = _dask.host_spacing


def executor_for(xp: Any, f: Any):
    """The executor module for data ``f`` of namespace ``xp`` (it has ``apply``)."""
    if _backend.is_numpy_namespace(xp) and type(f) is _numpy.np.ndarray:
        return _numpy
    library = _backend.library_name(f)
    if library == "dask":
        return _dask
    if library == "cupy":
        return _cupy
    return _generic


def apply_axes(executor: Any, xp: Any, f: Any, jobs: list, out_dtype: Any) -> list:
    """Each job ``(plan, data dtype)`` carried out on ``f`` cast to that dtype, in order.

    An executor with an ``apply_axes`` of its own (CuPy's fused kernel) gets
    all the axes at once; the others get one ``apply`` per axis.
    """
    fused = getattr(executor, "apply_axes", None)
    if fused is not None:
        return fused(xp, f, jobs, out_dtype)
    return [
        executor.apply(
            xp, f if dtype == f.dtype else xp.astype(f, dtype, copy=False), plan, out_dtype, f
        )
        for plan, dtype in jobs
    ]
