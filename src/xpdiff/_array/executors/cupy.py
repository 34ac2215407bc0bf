"""The CuPy executor: one fused CUDA kernel per gradient call, generated from the plans.

``cuda_source`` writes the kernel (every requested axis in one pass over
``f``, the generic executor's arithmetic to the bit); this module compiles
it with ``cupy.RawModule`` and FMA contraction off (``--fmad=false``: NumPy
rounds every product), keeps compiled modules per source string (shapes
and layouts are constants of the source; weights are arguments), and
launches it on ``f``'s device. Nothing is read back to the host: Python-float
weights are kernel arguments, array weights (typed spacings, per-row
weights of non-uniform grids) are passed as device pointers.

cupy itself is reached through ``_backend.cupy_module`` (only ever asked for
when the caller's data is a CuPy array). Dtypes the kernel has no arithmetic
for go to the generic executor.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any

import numpy as np

from ... import _backend
from . import cuda_source
from . import generic as _generic

__all__ = ["NVRTC_OPTIONS", "apply", "apply_axes", "compiled", "launch"]

#: NVRTC options: no FMA contraction (numpy's rounding), IEEE division, no flush to zero
NVRTC_OPTIONS = ("--fmad=false", "--prec-div=true", "--ftz=false")
THREADS = 256
#: blocks of a launch at most: the kernel loops over the rest (grid-stride); the
#: generator's 32-bit indices leave room for one stride of this many threads
MAX_BLOCKS = cuda_source.GRID_STRIDE_LIMIT // THREADS
#: kernel parameters a launch may take on every GPU (4 KiB before Hopper and CUDA 12.1)
MAX_PARAMETER_BYTES = 4000


@functools.lru_cache(maxsize=256)
def compiled(source: str, name: str) -> Any:
    """The kernel ``name`` of ``source``, compiled once per process (CuPy also caches on disk)."""
    cupy = _backend.cupy_module()
    module = cupy.RawModule(code=source, options=NVRTC_OPTIONS)
    return module.get_function(name)


def apply(xp: Any, f: Any, plan: Any, out_dtype: Any, like: Any = None) -> Any:
    """``plan`` carried out on the CuPy array ``f`` (see ``executors.generic.apply``)."""
    return apply_axes(xp, f, [(plan, f.dtype)], out_dtype)[0]


def apply_axes(xp: Any, f: Any, jobs: list, out_dtype: Any) -> list:
    """Each ``(plan, data dtype)`` of ``jobs`` on ``f``: one kernel for all axes covering ``f``."""
    try:
        for dtype in (f.dtype, out_dtype, *(dtype for _, dtype in jobs)):
            cuda_source.code_of(dtype)
    except TypeError:
        return [
            _generic.apply(xp, xp.astype(f, dtype, copy=False), plan, out_dtype, f)
            for plan, dtype in jobs
        ]
    cupy = _backend.cupy_module()
    itemsize = f.dtype.itemsize
    pointer = getattr(getattr(f, "data", None), "ptr", 0)
    if any(s % itemsize for s in f.strides) or pointer % itemsize:
        f = cupy.ascontiguousarray(f)  # a layout the kernel cannot index in elements
    strides = tuple(s // itemsize for s in f.strides)
    whole = [k for k, (plan, _) in enumerate(jobs) if plan.length == f.shape[plan.axis]]
    groups = [whole] if whole else []
    groups += [[k] for k in range(len(jobs)) if k not in whole]
    results: list = [None] * len(jobs)
    device = f.device  # CuPy's Device is a context manager: kernels launch on it
    with device if hasattr(device, "__enter__") else contextlib.nullcontext():
        for group in groups:
            kernel = cuda_source.gradient_kernel(
                f.shape, strides, f.dtype, out_dtype, [jobs[k] for k in group]
            )
            if kernel.parameter_bytes > MAX_PARAMETER_BYTES:  # very wide stencils: one per axis
                if len(group) > 1:
                    groups += [[k] for k in group]
                    continue
                plan, dtype = jobs[group[0]]
                results[group[0]] = _generic.apply(
                    xp, xp.astype(f, dtype, copy=False), plan, out_dtype, f
                )
                continue
            outs = [cupy.empty(shape, dtype=out_dtype) for shape in kernel.out_shapes]
            if kernel.size:
                launch(cupy, kernel, f, outs, xp)
            for k, out in zip(group, outs, strict=True):
                results[k] = out
    return results


def launch(cupy: Any, kernel: cuda_source.Kernel, f: Any, outs: list, xp: Any) -> None:
    """Run ``kernel`` on ``f`` into ``outs``: its arguments in order, one thread per element."""
    args: list = []
    for argument in kernel.arguments:
        if argument.kind == "f":
            args.append(f)
        elif argument.kind == "out":
            args.append(outs[argument.axis])
        elif argument.kind == "scalar":
            args.append(np.float64(argument.value))
        else:
            weight = argument.value
            if _backend.is_numpy(weight):  # host weights: one transfer
                weight = _backend.host_to_device(weight, xp, f.device)
            args.append(cupy.ascontiguousarray(weight))
    blocks = min(math.ceil(kernel.size / THREADS), MAX_BLOCKS)
    compiled(kernel.source, kernel.name)((blocks,), (THREADS,), tuple(args))
