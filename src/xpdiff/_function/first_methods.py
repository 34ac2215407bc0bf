"""Function mode, first derivatives: each method's scheme and their combination.

Which scheme serves which method is the table :data:`FIRST_DERIVATIVE_SCHEMES`
(the schemes themselves are host-side, in ``schemes``);
:func:`first_derivatives` evaluates one on func in one batched call
(``engine.run_linear``) and, for the two-ladder Richardson method, picks per
component the ladder to trust (:func:`select_ladder`).
:func:`first_derivative_result` is what grad and jacobian return with
``full_output`` (and numDeriv's ``show.details`` printout, :func:`print_table`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from .. import _backend
from .._numerics.richardson import richardson_table
from . import adaptive as _adaptive
from . import engine as _engine
from . import point_chunks as _point_chunks
from . import results as _results
from . import schemes as _schemes
from . import steps as _steps

__all__ = [
    "FIRST_DERIVATIVE_SCHEMES",
    "NOISE_SAFETY",
    "first_derivative_result",
    "first_derivatives",
    "print_table",
    "richardson_steps",
    "select_ladder",
]

_R = TypeVar("_R", bound=_results.DerivativeResult)


# --- which scheme serves which method -------------------------------------------------------


def _richardson(problem: _engine.Problem, elementwise: bool, table: bool) -> _schemes.LinearScheme:
    s = problem.settings
    return _schemes.richardson_scheme(
        problem.n, problem.compact_sides, s.r, s.v, elementwise, table, s.ladders
    )


def _simple(problem: _engine.Problem, elementwise: bool, table: bool) -> _schemes.LinearScheme:
    return _schemes.simple_scheme(problem.n, elementwise)


def _complex(problem: _engine.Problem, elementwise: bool, table: bool) -> _schemes.LinearScheme:
    if problem.one_sided:
        raise ValueError("method 'complex' does not support non-NULL argument 'side'.")
    h = _engine.machine_eps(problem.xp, problem.dtype)
    return _schemes.complex_step_scheme(problem.n, h, elementwise)


#: method name -> the scheme of its first derivatives
FIRST_DERIVATIVE_SCHEMES: dict[
    str, Callable[[_engine.Problem, bool, bool], _schemes.LinearScheme]
] = {
    "Richardson": _richardson,
    "simple": _simple,
    "complex": _complex,
}


def first_derivatives(
    problem: _engine.Problem, f0: Any, head: tuple, elementwise: bool
) -> dict[str, Any]:
    """The method's first derivatives of func, whose value at x is ``f0``.

    Returns ``{"value": (m, G, size), "rows": (m, G, Q, size), "scheme",
    "steps"}`` with ``m = prod(head)`` outputs and G the coordinates (1 when
    ``elementwise``: then output i is the derivative in coordinate i); the
    rows are the value, then with ``full_output`` its error estimate, then
    the table's levels when asked for. Non-finite function values give NaN,
    never a finite number.
    """
    # "adaptive" is not one weighted sum: a module of its own
    method = (
        _adaptive.first_derivatives if problem.method == "adaptive" else _linear_first_derivatives
    )
    if problem.size <= 1:  # one base point: nothing to split, nothing to count per point
        return method(_point_chunks.one_point(problem, f0), f0, head, elementwise)
    held, kept = first_derivative_numbers(problem, head, elementwise)
    full = problem.full_output or problem.settings.show_details

    def compute(part: _engine.Problem, f: Any) -> dict[str, Any]:
        out = method(part, f, head, elementwise)
        if not full:  # the value alone is read: the rest is not kept for every point
            out = {k: v if k in ("value", "scheme") else None for k, v in out.items()}
        return out

    return _point_chunks.over_points(problem, f0, compute, held=held, kept=kept)


def first_derivative_numbers(
    problem: _engine.Problem, head: tuple, elementwise: bool
) -> tuple[int, int]:
    """Numbers per base point that first derivatives hold beside the engine's count, and
    that their result keeps (``point_chunks.over_points``): steps and scales of x's size,
    f(x), and the result's arrays while they are assembled (the table of ``full_output``)."""
    n, m = problem.n, math.prod(head)
    result = m * (1 if elementwise else n)
    full = problem.full_output or problem.settings.show_details
    if problem.method == "adaptive":
        keep = 4 if full else 1
        return 8 * n + (keep + 2) * result, keep * result + n * full
    r, ladders = problem.settings.r, len(problem.settings.ladders)
    rows = ladders * (2 if full or ladders > 1 else 1)
    rows += (r + r * (r - 1) // 2) if full else 0  # the levels and the table built from them
    return 3 * n + r * n * full + (rows + 1) * result, rows * result + (1 + r) * n * full


def _linear_first_derivatives(
    problem: _engine.Problem, f0: Any, head: tuple, elementwise: bool
) -> dict[str, Any]:
    """:func:`first_derivatives` of the methods of :data:`FIRST_DERIVATIVE_SCHEMES`."""
    xp, settings = problem.xp, problem.settings
    table = problem.full_output or settings.show_details
    scheme = FIRST_DERIVATIVE_SCHEMES[problem.method](problem, elementwise, table)
    x4, xg = problem.base_points()
    hg = None
    if scheme.family.relative:
        x = x4 if elementwise else xg  # the layout the points and the division need
        if scheme.steps == "simple":
            axis = 0 if elementwise else 1
            sides = problem.compact_sides
            hg = _steps.simple_steps(xp, x, settings, sides, axis, problem.device)
        else:
            hg = _steps.numderiv_steps(xp, x, settings)
    rows = _engine.run_linear(problem, scheme, f0, head, hg, x4=x4, xg=xg)
    q = scheme.weights.shape[1]
    value = rows[:, :, 0, :]
    has_error = (problem.full_output or scheme.select) and scheme.error is not None
    error = rows[:, :, q, :] if has_error else None
    if scheme.select:
        with np.errstate(all="ignore"):  # NaN where f is: an answer, not a NumPy warning
            value, error = select_ladder(problem, scheme, rows, f0, hg=hg, elementwise=elementwise)
    return {"value": value, "error": error, "rows": rows, "scheme": scheme, "steps": hg}


#: how many units in the last place a function's value may be off, for the noise estimate
NOISE_SAFETY = 4.0


def select_ladder(
    problem: _engine.Problem,
    scheme: _schemes.LinearScheme,
    rows: Any,
    f0: Any,
    *,
    hg: Any,
    elementwise: bool,
    steps: Any = None,
    relative: Any = None,
) -> tuple[Any, Any]:
    """Two step ladders, the second 1024 times shorter: per component, the one to trust.

    Each ladder's estimated error is its extrapolation's (the difference of
    its last two entries) plus the rounding noise of its steps,
    ``4 eps |f(x)| A / h`` with ``A`` the weights' amplification (a
    function's own rounding is often a few units in its last place): short
    steps in float32 give levels whose noise agrees with itself, and only the
    second term tells. The long ladder suits functions that vary on the
    scale of x, the short one functions that vary faster (sin at 1e4). Where
    the two values agree within their estimates, the smaller estimate wins.
    Where they disagree beyond them and the steps are relative (``|x| >=
    zero_tol``), the long ladder has met a function that varies faster than
    its steps — its levels may even converge smoothly to a wrong value when
    the steps are near multiples of a period (sin at 1.3e4, steps of 132 =
    21 * 2 pi and its doubles) — and the short ladder is kept. Near zero the
    steps are absolute and short ones only add noise that ``|f(x)|`` may not
    show (``log(1 + x^2)``), so the smaller estimate wins there too. Returns
    the value and its error estimate. A sparse Jacobian gives ``steps`` and
    ``relative`` per compressed component, ``(m, groups, 1)``, instead.
    """
    xp, settings = problem.xp, problem.settings
    n, size = problem.n, problem.size
    ladders = settings.ladders
    eps = _engine.machine_eps(xp, problem.dtype)
    amplification = float(np.sum(np.abs(scheme.weights[0, 0])))
    scale = xp.abs(xp.reshape(f0, (-1, 1, size))) * (NOISE_SAFETY * eps * amplification)
    layout = (n, 1, size) if elementwise else (1, n, size)
    noise = scale / (xp.reshape(hg, layout) if steps is None else steps)
    long, short = rows[:, :, 0, :], rows[:, :, 1, :]
    long_error = rows[:, :, 2, :] + noise / ladders[0]
    short_error = rows[:, :, 3, :] + noise / ladders[1]
    if relative is None:
        relative = xp.reshape(xp.abs(problem.x), layout) >= settings.zero_tol
    disagree = (xp.abs(long - short) > long_error + short_error) & relative
    use_short = disagree | (short_error < long_error) | xp.isnan(long)
    return xp.where(use_short, short, long), xp.where(use_short, short_error, long_error)


def first_derivative_result(
    problem: _engine.Problem, out: dict[str, Any], value: Any, cls: type[_R]
) -> _R | None:
    """The result of grad and jacobian (and numDeriv's show.details printout).

    None unless ``full_output``: then a ``cls`` holding ``value``.
    """
    xp, settings, full_output = problem.xp, problem.settings, problem.full_output
    if not (full_output or settings.show_details):
        return None
    shape = value.shape
    if problem.method == "adaptive":
        if not full_output:
            return None
        return cast(
            _R,
            _results.result(
                cls,
                problem,
                value,
                xp.reshape(out["error"], shape),
                steps=xp.reshape(out["steps"], problem.shape),
                order=xp.reshape(out["order"], shape),
                step=xp.reshape(out["step"], shape),
            ),
        )
    scheme, rows = out["scheme"], out["rows"]
    table = None
    if scheme.levels is not None and (problem.full_output or settings.show_details):
        # Q values (two with float32's two ladders) and their errors come first
        first = scheme.level_row(full_output or scheme.select)
        levels = [
            xp.reshape(rows[:, :, first + k, :], shape) for k in range(scheme.levels.shape[1])
        ]
        table = richardson_table(levels, _table_factors(problem, scheme, shape))
        if settings.show_details:
            print_table(table, problem.n)
    if not full_output:
        return None
    if out["error"] is not None:
        error = xp.reshape(out["error"], shape)
    else:
        error = xp.full(shape, math.nan, dtype=problem.dtype, device=problem.device)
    h = out["steps"]
    if problem.method == "Richardson":
        steps = richardson_steps(problem, h)
    elif problem.method == "simple":
        steps = xp.reshape(h, problem.shape)  # as realized in x's dtype
    else:
        steps = float(xp.finfo(problem.dtype).eps)
    return cast(_R, _results.result(cls, problem, value, error, steps=steps, table=table))


def richardson_steps(problem: _engine.Problem, hg: Any) -> Any:
    """The steps of each Richardson level, ``(r, n, *B)``: ``hg / v**k`` in x's dtype."""
    xp, settings = problem.xp, problem.settings
    scale = _backend.host_to_device(
        settings.v ** -np.arange(settings.r, dtype=np.float64), xp, problem.device, problem.dtype
    )
    return xp.reshape(
        xp.reshape(scale, (settings.r, 1)) * xp.reshape(hg, (1, problem.n * problem.size)),
        (settings.r, *problem.shape),
    )


def _table_factors(
    problem: _engine.Problem, scheme: _schemes.LinearScheme, shape: tuple
) -> list[Any]:
    """Richardson factors for the table: numbers, or per-coordinate arrays (mixed sides)."""
    if len(scheme.factors) == 1:
        return list(scheme.factors[0])
    axis = len(shape) - len(problem.batch_shape) - 1  # the coordinates' axis
    layout = [1] * len(shape)
    layout[axis] = problem.n
    return [
        _backend.host_to_device(
            np.array([factors[m] for factors in scheme.factors]).reshape(layout),
            problem.xp,
            problem.device,
            problem.dtype,
        )
        for m in range(len(scheme.factors[0]))
    ]


# --- numDeriv's show.details ------------------------------------------------------------


def print_table(table: list[list[Any]], n_columns: int) -> None:
    """numDeriv's show.details output: the first-order approximations and each step."""

    def column_text(values: list[float]) -> list[str]:
        # R's print(a, 12): 12 significant digits, one number of decimals per column
        finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
        exponent = math.floor(math.log10(max(finite))) if finite else 0
        decimals = max(0, 11 - exponent)
        return [f"{v:.{decimals}f}" if math.isfinite(v) else str(v) for v in values]

    def show(rows: list[Any]) -> None:
        matrix = np.stack([np.reshape(_backend.to_host(row), (-1,)) for row in rows])
        columns = [column_text(matrix[:, j].tolist()) for j in range(matrix.shape[1])]
        labels = [f"[{i + 1},]" for i in range(matrix.shape[0])]
        label_width = max(len(label) for label in labels)
        widths = [max(len(f"[,{j + 1}]"), *(len(t) for t in col)) for j, col in enumerate(columns)]
        print(" " * label_width + "".join(f" {f'[,{j + 1}]':>{w}}" for j, w in enumerate(widths)))
        for i, label in enumerate(labels):
            print(
                f"{label:<{label_width}}"
                + "".join(f" {col[i]:>{w}}" for col, w in zip(columns, widths, strict=True))
            )

    print()
    print(" first order approximations ")
    show(table[0])
    for m in range(1, len(table) - 1):
        print()
        print(f" Richarson improvement group No.  {m} ")
        show(table[m])
