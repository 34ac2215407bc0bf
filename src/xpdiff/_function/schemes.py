"""Schemes: which points a derivative evaluates and how it combines their values.

A scheme is built on the host from the settings alone (no array library, no
data): it names its point *families* — groups of point sets that move one
coordinate, a pair of coordinates, or every coordinate by multiples of the
step — and the weights that turn each group's function values into the
derivative. numDeriv's Richardson extrapolation is linear in its levels, so
its whole table folds into one row of weights per output; the value is then
one weighted reduction over the function values (``_engine.combine_linear``).
Schemes are cached: building one costs nothing after the first call.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._numerics.richardson import extrapolation_factors, richardson_coefficients

__all__ = [
    "Family",
    "LinearScheme",
    "complex_step_scheme",
    "coordinate_family",
    "frozen",
    "genD_scheme",
    "masked_family",
    "richardson_scheme",
    "simple_scheme",
]


def frozen(array: Any, dtype: Any = None) -> np.ndarray:
    """``array`` as a contiguous read-only NumPy array (of ``dtype`` if given): cacheable."""
    array = np.ascontiguousarray(array, dtype=dtype)
    array.flags.writeable = False
    return array


_frozen = frozen


@dataclass(frozen=True, eq=False)
class Family:
    """``groups x sets`` point sets around each base point.

    Set ``l`` of group ``g`` moves coordinate ``coords[g, q]`` by
    ``multipliers[g, l, q]`` (times the step ``h`` of that coordinate when
    ``relative``), for each of the ``a = coords.shape[1]`` moves (one for a
    gradient, two distinct coordinates for a mixed second derivative); every
    other coordinate keeps the base point's value exactly. ``multipliers``
    may have a first axis of 1 (the same for every group). With ``coords``
    None the family has one group whose set ``l`` moves every coordinate
    ``c`` by ``multipliers[0, l, c]`` (an elementwise function's points);
    with ``masks`` as well (``(groups, n)``, 0 or 1), group g's set l moves
    coordinate c by ``masks[g, c] * multipliers[0, l, c]``: the columns of
    one group of a sparse Jacobian move together (``_sparse``).
    Multipliers are float64, or complex128 for the complex step.
    """

    coords: Any  # np.ndarray, or None: every coordinate moves
    multipliers: np.ndarray
    relative: bool
    groups: int
    masks: np.ndarray | None = None

    @property
    def sets(self) -> int:
        return self.multipliers.shape[1]

    @property
    def is_complex(self) -> bool:
        return self.multipliers.dtype.kind == "c"

    @functools.cached_property
    def diagonal(self) -> bool:
        """Group g moves coordinate g alone (a gradient's or a diagonal's points)."""
        return (
            self.coords is not None
            and self.coords.shape == (self.groups, 1)
            and bool(np.all(self.coords[:, 0] == np.arange(self.groups)))
        )

    def set_coords(self, t0: int, t1: int) -> np.ndarray:
        """The coordinates moved by sets ``t0 .. t1 - 1`` (group-major): ``(t1 - t0, a)``."""
        groups = np.arange(t0, t1) // self.sets
        return self.coords[groups]

    def set_multipliers(self, t0: int, t1: int) -> np.ndarray:
        """The multipliers of sets ``t0 .. t1 - 1``: ``(t1 - t0, a)`` (or ``(t1 - t0, n)``)."""
        t = np.arange(t0, t1)
        group, member = t // self.sets, t % self.sets
        if self.masks is not None:
            return self.masks[group] * self.multipliers[0][member]
        if self.multipliers.shape[0] == 1:
            group = np.zeros_like(group)
        return self.multipliers[group, member]


def coordinate_family(
    moves: np.ndarray, n: int, *, elementwise: bool, relative: bool = True
) -> Family:
    """The family that moves each coordinate by its own row of multipliers.

    ``moves`` is ``(n, L)`` — set l moves coordinate c by ``moves[c, l]``
    (times c's step when ``relative``) — or ``(1, L)``, the same for every
    coordinate. ``elementwise``: one group whose set l moves every
    coordinate at once (the points of an elementwise function, or, masked
    with :func:`masked_family`, of a sparse Jacobian's column groups);
    otherwise n groups, group g moving coordinate g alone (a gradient's
    points), whose multipliers are stored once when every row is the same.
    Built with array operations only: the Python cost does not grow with n,
    and an elementwise family of one row holds ``L`` numbers, not ``n L``
    (a read-only broadcast view).
    """
    moves = np.asarray(moves)
    if elementwise:
        multipliers = frozen(moves.T[None, :, :])  # (1, L, n or 1)
        if multipliers.shape[2] != n:
            multipliers = np.broadcast_to(multipliers, (1, multipliers.shape[1], n))
        return Family(None, multipliers, relative, groups=1)
    if moves.shape[0] > 1 and bool(np.all(moves == moves[:1])):
        moves = moves[:1]
    return Family(_coordinates(n), frozen(moves[:, :, None]), relative, groups=n)


def masked_family(family: Family, masks: np.ndarray) -> Family:
    """An elementwise family's sets, moving only the coordinates of each mask.

    ``masks`` is ``(groups, n)``, 0 or 1: group g's set l moves coordinate c
    by ``masks[g, c]`` times its multiplier (a sparse Jacobian's column
    groups, ``sparse``).
    """
    if family.coords is not None:
        raise ValueError("masked_family needs an elementwise family (coords None)")
    return Family(None, family.multipliers, family.relative, int(masks.shape[0]), masks=masks)


@functools.lru_cache(maxsize=64)
def _coordinates(n: int) -> np.ndarray:
    """``(n, 1)``: group g moves coordinate g."""
    return frozen(np.arange(n, dtype=np.int64)[:, None])


@dataclass(frozen=True, eq=False)
class LinearScheme:
    """Derivatives as weighted sums of each group's function values.

    ``weights`` has shape ``(G or 1, Q, L)``: output q of group g is
    ``sum_l weights[g, q, l] * V[g, l]``, where V is the group's L function
    values minus ``f(x)`` (``part`` "real"; the weights of a first
    derivative sum to zero, so subtracting f(x) changes nothing but the
    rounding, which it makes exact for nearby values), or ``Im F`` (``part``
    "imag", the complex step, NaN where F is not finite). First
    derivatives are divided by their group's step (``divide_by_step``).
    ``error`` (the difference from the previous Richardson entry, whose
    magnitude is the error estimate) and ``levels`` (the first-order
    approximation of each level, from which ``full_output`` rebuilds
    numDeriv's table with ``factors``) are separate weights of the same
    form, applied only when asked for: the derivative is always the same
    product, so ``full_output`` never changes its bits.
    """

    family: Family
    weights: np.ndarray
    part: str = "real"
    divide_by_step: bool = False
    error: np.ndarray | None = None
    levels: np.ndarray | None = None
    factors: tuple = field(default=())
    #: Q > 1 ladders of one derivative: keep, per component, the one whose error is least
    select: bool = False
    #: the step rule of a relative family: "numderiv" (Richardson) or "simple"
    steps: str = "numderiv"

    def level_row(self, with_error: bool) -> int:
        """The row of the first level among ``engine.combine_linear``'s outputs: after
        the Q values, and the Q errors where they were computed (``with_error``:
        full_output, or the ladders' selection)."""
        return self.weights.shape[1] * (2 if with_error and self.error is not None else 1)


# --- numDeriv's first-derivative methods -------------------------------------------------


def _side_factors(side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numDeriv's one-sided rule: twice the step on the chosen side, none on the other."""
    plus = np.where(side == 1, 2.0, np.where(side == -1, 0.0, 1.0))
    minus = np.where(side == -1, 2.0, np.where(side == 1, 0.0, 1.0))
    return plus, minus


def _level_pairs(r: int, v: float) -> tuple[np.ndarray, np.ndarray]:
    """Per set (k, sign): the multiplier of the step, and ``v**k`` (sets in (k, sign) order)."""
    levels = np.arange(r)
    scale = float(v) ** (-levels.astype(np.float64))
    moves = np.stack([scale, -scale], axis=1).reshape(2 * r)
    return moves, np.repeat(float(v) ** levels.astype(np.float64), 2)


@functools.lru_cache(maxsize=256)
def richardson_scheme(
    n: int,
    sides: tuple[float, ...],
    r: int,
    v: float,
    elementwise: bool,
    table: bool,
    ladders: tuple[float, ...] = (1.0,),
) -> LinearScheme:
    """numDeriv's Richardson gradient: ``2 r`` sets per coordinate, folded into weights.

    ``sides`` has one side (NaN: none, +1, -1) per coordinate, or one for
    every coordinate: then the scheme costs the same to build whatever n is.

    Level k moves coordinate i by ``+h_i / v**k`` and ``-h_i / v**k`` (twice
    the step on one side and none on the other where ``side`` says so), and
    its first-order approximation is ``(F_+ - F_-) / (2 h_i / v**k)``. The
    extrapolated value is ``sum_k c_k`` of those, so set (k, +) weighs
    ``c_k v**k / 2`` and set (k, -) its negative, per ``h_i``. The weights
    sum to zero: f(x) is not needed. With several ``ladders`` (relative step
    sizes), each is a block of ``2 r`` sets with its own value and error
    rows, and the derivative is taken from one ladder per component
    (``select``, see ``_function``); the table is the first ladder's.
    """
    scale, power = _level_pairs(r, v)
    side = np.array(sides, dtype=np.float64)  # (n,), or (1,): the same for every coordinate
    one_sided = ~np.isnan(side)
    per_coordinate = bool(one_sided.any()) and not bool(one_sided.all())
    sign = np.tile([1.0, -1.0], r)
    plus, minus = _side_factors(side)
    moves = np.where(sign > 0, plus[:, None], minus[:, None]) * scale[None, :]  # (n or 1, 2r)
    moves = np.concatenate([moves * ladder for ladder in ladders], axis=1)
    level_weights = sign * power / 2
    blocks = len(ladders)

    def in_block(
        row: np.ndarray, k: int
    ) -> np.ndarray:  # a row of 2r weights, in ladder k's block of sets, per its step
        placed = np.zeros(2 * r * blocks)
        placed[2 * r * k : 2 * r * (k + 1)] = row / ladders[k]
        return placed

    def rows_of(kind: bool) -> tuple[np.ndarray, np.ndarray]:  # (ladders, 2r ladders) each
        value, previous = richardson_coefficients(r, v, kind)
        value_row = np.repeat(value, 2) * level_weights
        error_row = np.repeat(value - previous, 2) * level_weights
        return (
            np.array([in_block(value_row, k) for k in range(blocks)]),
            np.array([in_block(error_row, k) for k in range(blocks)]),
        )

    if per_coordinate:  # central and one-sided coordinates: a row of weights each
        (value0, error0), (value1, error1) = rows_of(False), rows_of(True)
        pick = one_sided.astype(np.intp)
        weights, error = np.stack([value0, value1])[pick], np.stack([error0, error1])[pick]
        kinds = one_sided.tolist()
    else:
        kinds = [bool(one_sided[0])]
        weights, error = (a[None] for a in rows_of(kinds[0]))  # (1, ladders, 2r ladders)
    levels = None
    if table:
        level = np.repeat(np.arange(r), 2)
        levels = np.stack(
            [in_block(np.where(level == k, level_weights, 0.0), 0) for k in range(r)]
        )[None]
    factors = tuple(tuple(extrapolation_factors(r, v, s)) for s in kinds) if table else ()
    family = coordinate_family(moves, n, elementwise=elementwise)
    if elementwise and weights.shape[0] > 1:
        # one group; output i of the elementwise function takes coordinate i's weights
        weights, error = weights[:, None, :, :], error[:, None, :, :]
    return LinearScheme(
        family,
        _frozen(weights),
        divide_by_step=True,
        error=_frozen(error),
        levels=None if levels is None else _frozen(levels),
        factors=factors,
        select=blocks > 1,
    )


@functools.cache
def simple_scheme(n: int, elementwise: bool) -> LinearScheme:
    """numDeriv's "simple": ``(f(x + s eps e_i) - f(x)) / h_i``, s the side (+1 default).

    The step is the one realized in x's dtype, ``h_i = (x_i + s eps) - x_i``
    (``steps.simple_steps``), and the point is ``x + h_i e_i``, the same
    floating-point number as numDeriv's ``x + s eps e_i``: dividing by the
    realized step removes the rounding of ``x + eps`` from the derivative,
    and where ``x + eps`` rounds back to x the derivative is 0 / 0, NaN,
    instead of a finite 0.
    """
    family = coordinate_family(np.ones((1, 1)), n, elementwise=elementwise)
    return LinearScheme(family, _frozen(np.ones((1, 1, 1))), divide_by_step=True, steps="simple")


@functools.lru_cache(maxsize=256)
def complex_step_scheme(n: int, h: float, elementwise: bool) -> LinearScheme:
    """The complex step ``Im f(x + i h e_i) / h``, h the dtype's machine epsilon."""
    move = np.full((1, 1), complex(0.0, h))
    family = coordinate_family(move, n, elementwise=elementwise, relative=False)
    return LinearScheme(family, _frozen(np.array([[[1.0 / h]]])), part="imag")


# --- second derivatives ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GenDScheme:
    """numDeriv's genD as one family: the lower triangle of coordinate pairs, by rows.

    Group (i, j), j <= i, in numDeriv's order (0,0), (1,0), (1,1), (2,0), ...,
    has the 2r sets (k, sign) that move coordinate i by ``+-h_i / v**k`` and,
    for j < i, coordinate j by ``+-h_j / v**k`` too. ``linear`` folds the
    Richardson tables: output 0 is the first derivative per ``h_i`` (used on
    the diagonal groups), output 1 ``S = sum_k c_k v**(2k) (F_+ + F_- - 2
    f0)``; the error weights give their error-estimate rows. numDeriv's
    second derivatives are then ``S_ii / h_i**2`` and, for j < i,
    ``(S_ij - S_ii - S_jj) / (2 h_i h_j)`` — its subtraction of
    ``Hdiag_i h_i**2 + Hdiag_j h_j**2``, folded.
    """

    linear: LinearScheme
    first: np.ndarray  # (G,) i of each group
    second: np.ndarray  # (G,) j of each group (i on the diagonal)
    diagonal: np.ndarray  # (n,) the group (i, i) of each coordinate
    divisor: np.ndarray  # (G, 1): -1 on the diagonal, 2 off it (see genD_values)


@functools.lru_cache(maxsize=64)
def genD_scheme(n: int, r: int, v: float) -> GenDScheme:
    """numDeriv's genD: every pair of the lower triangle, by rows."""
    pairs = [(i, j) for i in range(n) for j in range(i + 1)]
    first = np.array([i for i, _ in pairs], dtype=np.int64)
    second = np.array([j for _, j in pairs], dtype=np.int64)
    diagonal = np.array([i * (i + 1) // 2 + i for i in range(n)], dtype=np.int64)
    return genD_pairs_scheme(first, second, diagonal, r, v)


def genD_pairs_scheme(
    first: np.ndarray, second: np.ndarray, diagonal: np.ndarray, r: int, v: float
) -> GenDScheme:
    """genD's scheme on some pairs ``(first[g], second[g])``, j <= i: a sparse Hessian's.

    ``diagonal[i]`` is the group of (i, i), which every coordinate needs:
    the mixed entries subtract the diagonal ones.
    """
    moves, power = _level_pairs(r, v)
    sign = np.tile([1.0, -1.0], r)
    value, previous = richardson_coefficients(r, v, False)
    difference = np.repeat(value - previous, 2)
    rows = [np.repeat(value, 2) * sign * power / 2, np.repeat(value, 2) * power**2]
    error = [difference * sign * power / 2, difference * power**2]
    coords = np.stack([first, np.where(first == second, -1, second)], axis=1)
    family = Family(
        _frozen(coords), _frozen(np.stack([moves, moves], axis=1)[None]), True, len(first)
    )
    linear = LinearScheme(
        family, _frozen(np.stack(rows)[None]), error=_frozen(np.stack(error)[None])
    )
    divisor = np.where(first == second, -1.0, 2.0)[:, None]
    return GenDScheme(linear, _frozen(first), _frozen(second), _frozen(diagonal), _frozen(divisor))
