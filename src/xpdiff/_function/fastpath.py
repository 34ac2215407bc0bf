"""The NumPy executor of the common case: a linear scheme whose points fit one call.

Most derivatives of cheap functions are small: a few coordinates, every
point in one call of func. There the engine's general machinery (chunks,
units, generic namespace calls) costs more than the arithmetic, so this
module does the same work — the same points, the same function values, the same
weighted sums (the engine's own ``combine_linear``) — with ndarray methods
for the points (the small-primitive rule of docs/architecture.md, for NumPy) and none of the
chunking. Its results equal the engine's to the bit; ``tests/test_engine.py``
checks that, and the engine stays the path of every other case.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from . import evaluators as _evaluators
from . import mixing as _mixing
from . import points as _points

__all__ = ["linear_rows"]


def applies(problem: Any, scheme: Any, calls_and_units: tuple) -> bool:
    """NumPy arrays, func in this process, and the engine's layout is one call, one unit."""
    return (
        type(problem.x) is np.ndarray
        and type(problem.evaluator) is _evaluators.Batched
        and calls_and_units == (1, 1)
        and (
            (scheme.family.coords is None and scheme.family.masks is None)
            or scheme.family.diagonal
        )
    )


def linear_rows(
    problem: Any,
    scheme: Any,
    f0: Any,
    head: tuple,
    hg: Any,
    step: Any,
    weights: Any,
    error: Any,
    levels: Any,
    finish: bool,
    at_x: Any,
) -> Any:
    """The outputs ``(m, G, Q', size)`` of a linear scheme, as ``engine.run_linear`` does.

    The points are written with ndarray methods and func is called once;
    ``engine.combine_linear`` turns the values into outputs, the same
    arithmetic as on any other path. With ``at_x`` (func at x) the batch
    ends with a copy of base point 0, checked by ``mixing.check_not_mixing``,
    and the sentinel (``mixing.sentinel_direction``).
    """
    from . import engine as _engine

    x, n, size = problem.x, problem.n, problem.size
    family = scheme.family
    sets, groups = family.sets, family.groups
    dtype = x.dtype
    if family.is_complex:
        dtype = np.complex128 if dtype == np.float64 else np.complex64
    total = groups * sets * size
    copy = at_x is not None and _mixing.may_mix(problem.evaluator)
    extra = _mixing.EXTRA * copy
    pad = total + extra == n and n > 1
    out = np.empty((n, total + extra + pad), dtype=dtype)
    x2 = x.reshape(n, size)
    multipliers = family.multipliers.astype(dtype, copy=False)
    if family.coords is None:  # every coordinate moves: (n, sets, size)
        block: np.ndarray = out[:, :total].reshape(n, sets, size)
        m = multipliers[0].T[:, :, None]
        if family.relative:
            m = m * hg.reshape(n, 1, size)
        np.add(x2[:, None, :], m, out=block)  # the engine's base + m * h
    else:  # group g moves coordinate g: (n, G, sets, size)
        block = out[:, :total].reshape(n, groups, sets, size)
        block[...] = x2[:, None, None, :]
        m = multipliers[None, :, :, 0:1]
        if family.relative:
            m = m * hg
        index = _arange(n)
        block[index, index] = (x2.reshape(1, n, 1, size) + m)[0]
    if copy or pad:
        out[:, total:] = x2[:, :1]
    if copy:
        out[:, total + 1] = _points.sentinel(x2[:, 0], _mixing.sentinel_direction(problem))
    m = math.prod(head)
    (values,) = problem.evaluator.batches(
        problem.xp, ((out, total + extra),), head, problem.device
    )
    if copy:
        values = values.reshape(m, total + extra)
        _mixing.check_not_mixing(problem.xp, problem, values, at_x)
        problem.evaluator.nfev -= extra  # nfev counts the derivative's points, not the check
        values = values[:, :total]
    values = values.reshape(m, groups, sets, size)
    return _engine.combine_linear(
        problem.xp, scheme, values, f0, weights, step, error, levels, finish
    )


@functools.lru_cache(maxsize=64)
def _arange(n: int) -> np.ndarray:
    index = np.arange(n)
    index.flags.writeable = False
    return index
