"""Function mode, sparse Jacobians: jacobian's ``sparsity``.

The pattern's column groups (``sparse``) move together, with the method's own
elementwise scheme masked per group (``schemes.masked_family``), so that every
group, level and sign goes to func in one batched call; ``sparse.assemble``
takes each compressed value to its entry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import adaptive as _adaptive
from . import engine as _engine
from . import first_methods as _first_methods
from . import schemes as _schemes
from . import sparse as _sparse
from . import steps as _steps

__all__ = ["sparse_jacobian"]


def sparse_jacobian(
    problem: _engine.Problem, f0: Any, head: tuple, sparsity: Any
) -> tuple[Any, Any]:
    """The sparse Jacobian ``(value, error, steps)``, value and error in the pattern's format.

    The pattern's column groups (``_sparse``) are the scheme's groups: group
    g moves all its columns at once, with the method's own points and
    weights (those of an elementwise function, whose set l moves every
    coordinate), so every group, level and sign goes to func in one batched
    call. Each compressed value (row i, group g) is divided by the step of
    the one column of g that row i depends on.
    """
    xp, device = problem.xp, problem.device
    _sparse.require_one_point(problem)
    m, n = math.prod(head), problem.n
    kinds = tuple(0.0 if math.isnan(side) else side for side in problem.sides)
    pattern = _sparse.pattern_of(sparsity, (m, n), kinds)
    if problem.method == "adaptive":
        compressed, error = _adaptive.sparse_first_derivatives(problem, f0, head, pattern)
        steps = None
    else:
        compressed, error, steps = _sparse_linear(problem, f0, head, pattern)
    value = _sparse.assemble(xp, device, pattern, compressed, steps)
    if error is None:
        error = xp.full(compressed.shape, math.nan, dtype=compressed.dtype, device=device)
    error = _sparse.assemble(xp, device, pattern, error, steps)
    return value, error


def _first_column(pattern: _sparse.Pattern, per_coordinate: np.ndarray) -> np.ndarray:
    """Per-coordinate rows ``(n, 1, ...)`` as per-group ones: each group's first column's."""
    _, first = np.unique(pattern.groups, return_index=True)
    return np.ascontiguousarray(per_coordinate[first, 0])


def _sparse_linear(
    problem: _engine.Problem, f0: Any, head: tuple, pattern: _sparse.Pattern
) -> tuple[Any, Any, Any]:
    """A numDeriv method on the pattern's groups: compressed ``(m, groups)`` and steps."""
    xp, settings = problem.xp, problem.settings
    base = _first_methods.FIRST_DERIVATIVE_SCHEMES[problem.method](problem, True, False)
    family = _schemes.masked_family(base.family, pattern.masks)
    weights, error = base.weights, base.error
    if weights.ndim == 4:  # per coordinate (mixed sides): each group's columns share theirs
        weights = _first_column(pattern, weights)
        error = None if error is None else _first_column(pattern, error)
    scheme = _schemes.LinearScheme(
        family, weights, part=base.part, error=error, select=base.select, steps=base.steps
    )
    x4, xg = problem.base_points()
    hg = None
    if family.relative:
        if base.steps == "simple":
            hg = _steps.simple_steps(xp, x4, settings, problem.sides, 0, problem.device)
        else:
            hg = _steps.numderiv_steps(xp, x4, settings)
    rows = _engine.run_linear(problem, scheme, f0, head, hg, x4=x4, xg=xg)[..., 0]
    steps = None if not base.divide_by_step else xp.reshape(hg, (problem.n,))
    q = weights.shape[1]
    has_error = (problem.full_output or scheme.select) and error is not None
    value = rows[:, :, 0]
    error_rows = rows[:, :, q] if has_error else None
    if scheme.select:
        # the compressed rows are not yet divided by their column's step: neither is the
        # noise (steps 1); whether a component's steps are relative is its column's
        magnitude = _sparse.entries_steps(
            xp, problem.device, pattern, xp.abs(xp.reshape(problem.x, (-1,))), 0.0
        )
        with np.errstate(all="ignore"):
            value, error_rows = _first_methods.select_ladder(
                problem,
                scheme,
                rows[..., None],
                f0,
                hg=hg,
                elementwise=True,
                steps=1.0,
                relative=(magnitude >= settings.zero_tol)[..., None],
            )
        value, error_rows = value[..., 0], error_rows[..., 0]
    return value, error_rows, steps
