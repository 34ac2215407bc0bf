"""Function mode, sparse Hessians: hessian's ``sparsity``.

"Richardson" evaluates genD's diagonal entries and only the pattern's pairs
(``schemes.genD_pairs_scheme``); "adaptive" runs its own Hessian on those
pairs; "complex" is the sparse Jacobian of the complex-step gradient, the
pattern's column groups moving together. ``sparse.assemble_values`` and
``sparse.assemble`` put the values in the pattern's format.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _backend
from . import adaptive as _adaptive
from . import engine as _engine
from . import schemes as _schemes
from . import second_methods as _second_methods
from . import sparse as _sparse
from . import steps as _steps

__all__ = ["sparse_hessian"]


def sparse_hessian(
    problem: _engine.Problem, f0: Any, head: tuple, sparsity: Any
) -> tuple[Any, Any]:
    """A sparse Hessian ``(H, error)`` in the pattern's format (see hessian's ``sparsity``)."""
    xp, device, settings = problem.xp, problem.device, problem.settings
    _sparse.require_one_point(problem)
    n = problem.n
    pattern = _sparse.pattern_of(sparsity, (n, n))
    first, second, index = _sparse.symmetric_pairs(pattern)  # pairs i > j
    if problem.method == "complex":
        return _sparse_complex_hessian(problem, f0, head, pattern)
    if problem.method == "adaptive":
        out = _adaptive.hessian_values(problem, f0, head, second, first)  # pairs as (j < i)
        values, error = out["rows"][:, 0, 0], out["rows"][:, 1, 0]
    else:
        # genD's groups: the n diagonal entries first, then the pairs
        scheme = _schemes.genD_pairs_scheme(
            np.concatenate([np.arange(n), first]),
            np.concatenate([np.arange(n), second]),
            np.arange(n),
            settings.r,
            settings.v,
        )
        out = _second_methods.genD_values(problem, f0, head, first=False, scheme=scheme)
        values = out["D"][0, :, 0]
        error = out["error"][0, :, 0] if problem.full_output else None
    H = _sparse.assemble_values(xp, device, pattern, values, index)
    if error is None:
        error = xp.full(values.shape, math.nan, dtype=values.dtype, device=device)
    return H, _sparse.assemble_values(xp, device, pattern, error, index)


def _sparse_complex_hessian(
    problem: _engine.Problem, f0: Any, head: tuple, pattern: _sparse.Pattern
) -> tuple[Any, Any]:
    """numDeriv's complex hessian on a pattern: the sparse Jacobian of the complex gradient.

    The pattern's column groups move together at the Richardson points of
    each group (``2r`` per group, masked like a sparse Jacobian's); the
    complex-step gradient at each of them (``n`` complex points), one call.
    Row i of the compressed Jacobian and group g is then column j's entry,
    divided by its step.
    """
    xp, device, settings = problem.xp, problem.device, problem.settings
    n, r = problem.n, settings.r
    base = _schemes.richardson_scheme(n, (math.nan,), r, settings.v, True, False)
    family = _schemes.masked_family(base.family, pattern.masks)
    hg = _steps.numderiv_steps(xp, problem.base_points()[0], settings)  # (n, 1, 1, 1)
    gradients = _second_methods.complex_step_gradients(problem, head, family, hg)
    # (1, i, 1, (group, level and sign)) -> (i, group, level and sign, 1)
    gradients = xp.reshape(gradients, (n, pattern.count, 2 * r, 1))
    weights = _backend.host_to_device(base.weights[:1], xp, device, problem.dtype)  # (1, 1, 2r)
    steps = xp.reshape(hg, (n,))
    with np.errstate(all="ignore"):
        compressed = (weights @ gradients)[:, :, 0, 0]  # (n, groups), per unit step
        H = _sparse.assemble(xp, device, pattern, compressed, steps)
        error = xp.full(compressed.shape, math.nan, dtype=compressed.dtype, device=device)
        if problem.full_output and base.error is not None:  # a Richardson scheme has one
            e = _backend.host_to_device(base.error[:1], xp, device, problem.dtype)
            error = xp.abs((e @ gradients)[:, :, 0, 0])
    return H, _sparse.assemble(xp, device, pattern, error, steps)
