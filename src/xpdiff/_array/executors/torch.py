"""numpy.gradient's everyday call on a PyTorch tensor, compiled once per call signature.

The generic executor carries a plan out with one PyTorch call per slice and
per operation and joins the regions with ``cat``: about three times
torch.gradient's time below 10,000 elements. Here a tensor is recognised by
its type before any namespace resolution, and the call's signature (shape,
dtype, axis, edge order, the kind of each spacing: never its values) is the
key of a program built on its first call and cached: every index tuple
precomputed, the interior difference written straight into the output
(``out=``), both first-order edges in one operation on strided views. The
operations are the generic executor's, in its order and dtypes: the same
bits (tested on CPU tensors). Divisors are 0-d CPU float64 tensors, which
PyTorch takes as it takes a Python float, a CPU scalar, on CUDA too (where
it multiplies by the reciprocal either way; not yet checked on a GPU).
Everything else (tensors that require grad or are inside a ``torch.func``
transform, float16, complex, tensors as spacing, ``n``, ``accuracy``,
``periodic``) takes the general path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numpy.lib.array_utils import normalize_axis_tuple

from ... import _backend

__all__ = ["MAX_PROGRAMS", "PROGRAMS", "compilable", "compile_program", "spacing_kind"]

#: programs kept; a program is a few index tuples
MAX_PROGRAMS = 1024
#: divisors kept as 0-d CPU float64 tensors (what PyTorch makes of a Python float)
MAX_DIVISORS = 256

Program = Callable[[Any, tuple], Any]

PROGRAMS: dict[tuple, Program | None] = {}
_DIVISORS: dict[float, Any] = {}
_PROBES: dict[str, Callable[[], bool]] = {}


def compilable(f: Any) -> bool:
    """Whether an exact ``torch.Tensor`` ``f`` may take a compiled program.

    ``out=`` writes have no derivative nor batching rule: a tensor that
    requires grad, or a call under a ``torch.func`` transform, takes the
    general path, which keeps autograd's graph and works under
    ``torch.func.vmap``, ``grad``, ``jacrev``...
    """
    return not (f.requires_grad or _transforms_active())


def _transforms_active() -> bool:
    """Whether a ``torch.func`` transform is running (the probe looked up once)."""
    probe = _PROBES.get("transforms")
    if probe is None:
        probe = _PROBES["transforms"] = _backend.torch_transforms_probe()
    return bool(probe())


def spacing_kind(value: Any) -> str | None:
    """What the key holds of one spacing: its kind, never its value."""
    kind = type(value)
    return "scalar" if kind is float or kind is int else None


def compile_program(
    shape: tuple[int, ...], dtype: Any, axis: Any, edge_order: int, kinds: tuple
) -> Program | None:
    """Build the program of one key, or None where the key is not the everyday call."""
    torch = _backend.torch_module()
    if dtype in (torch.float32, torch.float64):
        convert = None
    elif dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
        convert = torch.float64  # numpy's rule, as the general path applies it
    else:
        return None
    if not shape or edge_order not in (1, 2) or None in kinds:
        return None
    try:
        axes = normalize_axis_tuple(range(len(shape)) if axis is None else axis, len(shape))
    except (TypeError, ValueError):  # the general path raises numpy's error
        return None
    if len(kinds) > 1 and len(kinds) != len(axes):
        return None  # the general path's TypeError
    # the edges' strided views need a row between the edge rows of each kind
    if any(shape[ax] < edge_order + 2 for ax in axes):
        return None
    runs = tuple(_axis_run(torch, shape, ax, edge_order) for ax in axes)
    return _program(torch, runs, len(kinds), convert)


def _program(torch: Any, runs: tuple, spacings: int, convert: Any) -> Program:
    count = len(runs)
    empty = torch.empty_like

    def program(f: Any, varargs: tuple) -> Any:
        if convert is not None:
            f = f.to(convert)
        if count == 1:  # the most common call, with the least Python
            out = empty(f)
            runs[0](f, float(varargs[0]) if spacings else 1.0, out)
            return out
        if spacings == 0:
            steps: tuple = (1.0,) * count
        elif spacings == 1:
            steps = (float(varargs[0]),) * count
        else:
            steps = tuple(map(float, varargs))
        outs = []
        for run, h in zip(runs, steps, strict=True):
            out = empty(f)
            run(f, h, out)
            outs.append(out)
        return outs[0] if count == 1 else tuple(outs)

    return program


def _index(ndim: int, axis: int, rows: slice) -> tuple | slice:
    """``rows`` along ``axis``: a bare slice for 1-d data (PyTorch indexes it faster)."""
    if ndim == 1:
        return rows
    return (*(slice(None),) * axis, rows, *(slice(None),) * (ndim - axis - 1))


def _divisor(value: float) -> Any:
    """``value`` as PyTorch takes a Python float into arithmetic: a 0-d CPU float64 scalar."""
    try:
        return _DIVISORS[value]
    except KeyError:
        pass
    torch = _backend.torch_module()
    scalar = torch.tensor(value, dtype=torch.float64)
    if value:  # 0.0 and -0.0 are one key, and divide with different signs: not kept
        if len(_DIVISORS) >= MAX_DIVISORS:
            _DIVISORS.clear()
        _DIVISORS[value] = scalar
    return scalar


def _axis_run(torch: Any, shape: tuple[int, ...], axis: int, edge_order: int) -> Callable:
    """The generic executor's operations for numpy.gradient's uniform formulas on one axis."""
    ndim, length = len(shape), shape[axis]
    interior = _index(ndim, axis, slice(1, length - 1))
    after, before = _index(ndim, axis, slice(2, length)), _index(ndim, axis, slice(0, length - 2))
    # rows 0 and length - 1 at once, from rows (1, length - 1) and (0, length - 2)
    edges = _index(ndim, axis, slice(0, length, length - 1))
    edge_after = _index(ndim, axis, slice(1, length, length - 2))
    edge_before = _index(ndim, axis, slice(0, length - 1, length - 2))
    first, last = _index(ndim, axis, slice(0, 1)), _index(ndim, axis, slice(length - 1, length))
    rows = [_index(ndim, axis, slice(r, r + 1)) for r in (0, 1, 2)]
    rows += [_index(ndim, axis, slice(r, r + 1)) for r in (length - 3, length - 2, length - 1)]
    subtract, two = torch.sub, _divisor(2.0)

    def run(f: Any, h: float, out: Any) -> None:
        block = out[interior]
        subtract(f[after], f[before], out=block)
        if h == 1.0:
            block.div_(two)
        elif 2.0 * h != 1.0:  # x / 1.0 is x: the generic executor skips it too
            block.div_(_divisor(2.0 * h))
        if edge_order == 1:
            both = out[edges]
            subtract(f[edge_after], f[edge_before], out=both)
            if h != 1.0:
                both.div_(_divisor(h))
            return
        w0, w1, w2 = (-1.5 * 1.0) / h, (2.0 * 1.0) / h, (-0.5 * 1.0) / h
        out[first] = w0 * f[rows[0]] + w1 * f[rows[1]] + w2 * f[rows[2]]
        w0, w1, w2 = (0.5 * 1.0) / h, (-2.0 * 1.0) / h, (1.5 * 1.0) / h
        out[last] = w0 * f[rows[3]] + w1 * f[rows[4]] + w2 * f[rows[5]]

    return run
