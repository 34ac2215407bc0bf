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
:func:`apply_axes` hands an executor all the axes of a call at once. The Dask
and CuPy executors are imported with the first array of their library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _backend
from . import compiled as _compiled
from . import generic as _generic
from . import numpy as _numpy
from . import torch as _torch

__all__ = ["apply_axes", "compiled_program", "executor_for", "plan_space"]


def plan_space(xp: Any, f: Any, varargs: tuple, axes: tuple[int, ...]) -> tuple[Any, Any, tuple]:
    """(namespace, device, spacings) of the plans for data ``f`` along ``axes``.

    Plans live where the executor wants their numbers: on ``f``'s device,
    or on the host for Dask, whose executor hands each chunk the part it
    needs (Dask spacings are computed once, here; a Dask axis of unknown
    chunk sizes is a ValueError).
    """
    if type(f) is not np.ndarray and _backend.library_name(f) == "dask":
        from . import dask as _dask  # imported with the first Dask array

        _dask.check_known_chunks(f, axes)
        host = tuple(_dask.host_spacing(v) for v in varargs)
        return _backend.numpy_namespace(), "cpu", host
    return xp, _backend.device_of(f), varargs


def compiled_program(
    f: Any, varargs: tuple, axis: Any, edge_order: Any, n: Any, accuracy: Any, periodic: Any
) -> Any:
    """numpy.gradient's own call, compiled once (or None: the plans' path).

    NumPy arrays and PyTorch tensors are recognized here by their type,
    before any namespace resolution: the everyday call's whole cost is a
    dictionary look-up and the library's own operations. The key holds the
    call's shape, dtype, axis, edge order and the kind of each spacing
    (never a spacing's value); each library (``compiled``, ``torch``) keeps
    its programs and says what it compiles (``spacing_kind``,
    ``compile_program``: None where its general path must take the call).
    """
    if n != 1 or type(n) is not int or accuracy is not None or periodic is not False:
        return None
    if edge_order is not None and type(edge_order) is not int:
        return None  # bools and the like: the general path's TypeError
    if type(f) is np.ndarray:
        library: Any = _compiled
    elif type(f) is _backend.torch_tensor_type() and _torch.compilable(f):
        library = _torch
    else:
        return None
    if (axis is not None and type(axis) is not int) and (
        type(axis) is not tuple or any(type(a) is not int for a in axis)
    ):
        return None  # 1.0 == 1 and hash alike: the general path checks the type
    kinds = tuple(map(library.spacing_kind, varargs)) if varargs else ()
    key = (f.shape, f.dtype, axis, edge_order, kinds)
    programs = library.PROGRAMS
    try:
        return programs[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable axis (a list): the general path
        return None
    if len(programs) >= library.MAX_PROGRAMS:
        programs.clear()
    order = 1 if edge_order is None else edge_order
    program = programs[key] = library.compile_program(tuple(f.shape), f.dtype, axis, order, kinds)
    return program


def executor_for(xp: Any, f: Any) -> Any:
    """The executor module for data ``f`` of namespace ``xp`` (it has ``apply``)."""
    if _backend.is_numpy_namespace(xp) and type(f) is np.ndarray:
        return _numpy
    library = _backend.library_name(f)
    if library == "dask":
        from . import dask as _dask  # imported with the first Dask array

        return _dask
    if library == "cupy":
        from . import cupy as _cupy  # and its CUDA source generator, with the first CuPy array

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
