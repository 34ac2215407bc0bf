"""method="adaptive", host side: the pilot's and the ladders' points and weights.

Schemes of :mod:`xpdiff._function.adaptive` built on the host from the
settings alone (NumPy float64, no array library, no data) and cached: the
pilot's three points per coordinate with Fornberg's weights of the first
three derivatives, and the ladders whose Richardson tables give every
candidate estimate with its error weights (:class:`Ladder`). Built once per
distinct side and indexed per coordinate, so their Python cost does not grow
with the number of coordinates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..._numerics.richardson import richardson_table
from ..._numerics.stencils import fornberg
from .. import schemes as _schemes
from ..schemes import frozen

__all__ = ["Ladder", "all_pairs", "first_ladder", "pilot_ratio", "pilot_scheme", "second_ladders"]

#: the pilot's offsets in units of T: central (a near pair and one far point), and
#: one-sided (times the side); the near ones alone serve where the far one is not finite
#: the near points are T / ratio: 256 where the dtype resolves a second difference
#: that short (float64), 16 otherwise (float32: its rounding hides f'' at T / 256)
PILOT_RATIOS = {"high": 256.0, "low": 16.0}


def pilot_ratio(eps: float) -> float:
    """How much nearer than T the pilot's near points are, for a dtype of precision eps."""
    return PILOT_RATIOS["high" if eps < 1e-12 else "low"]


@dataclass(frozen=True, eq=False)
class Ladder:
    """A ladder's points and, per candidate estimate, its weights on their values.

    Candidate c of group g is ``weights[g, c] @ (F - f(x)) / divisor`` with F
    the group's values and the divisor ``H`` (first derivatives), ``H**2`` or
    ``H_i H_j`` (second); ``error[g, c]`` the same for its difference from
    the candidate of the order below; ``noise[g, c]`` the amplification of
    rounding errors of the values (the sum of ``|weights|`` and of the
    weights' sum, which f(x) carries); ``order`` its order of accuracy and
    ``step`` its largest step, in units of H. A first axis of 1 is the same
    for every group. Unused candidates (padding) have infinite noise.
    """

    family: _schemes.Family
    weights: np.ndarray
    error: np.ndarray
    noise: np.ndarray
    order: np.ndarray
    step: np.ndarray
    used: np.ndarray  # (g, C, L) 1.0 where a candidate's weight is not zero
    error2: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The per-candidate arrays in the order the selection takes them."""
        return (
            *(self.weights, self.error, self.noise, self.order),
            *(self.step, self.used, self.error2),
        )


#: a Richardson table's candidate rows: weights, error, noise, order, step, error2
Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _candidates(
    levels: np.ndarray, factors: list[float], base_order: int, order_step: int, v: float
) -> Rows:
    """Every entry of the Richardson table of ``levels`` (rows of weights), as candidates.

    Entry (j, k), k >= j, extrapolates levels ``k - j .. k`` to order
    ``base_order + j * order_step``; its error estimate is its difference
    from the entry it improves on, (j - 1, k), or from the level before for
    j = 0 (entry (0, 0) has none and is left out). Returns the rows
    ``(weights, error, noise, order, step)`` with ``step`` the entry's
    largest step (that of level ``k - j``) in units of H.
    """
    columns = richardson_table(list(levels), factors)  # column j: entries (j, j .. r - 1)
    table = {(j, j + i): row for j, column in enumerate(columns) for i, row in enumerate(column)}
    weights: list[np.ndarray] = []
    error: list[np.ndarray] = []
    error2: list[np.ndarray] = []
    order: list[int] = []
    step: list[float] = []
    for (j, k), row in sorted(table.items()):
        if k == 0:
            continue
        before = table[j - 1, k] if j else table[0, k - 1]
        weights.append(row)
        error.append(row - before)
        other = table[j - 1, k - 1] if j >= 1 else table[0, k - 2] if k >= 2 else before
        error2.append(row - other)
        order.append(base_order + j * order_step)
        step.append(float(v) ** -(k - j))
    stacked = np.array(weights)
    noise = np.sum(np.abs(stacked), axis=1) + np.abs(np.sum(stacked, axis=1))
    return (
        stacked,
        np.array(error),
        noise,
        np.array(order, dtype=np.float64),
        np.array(step),
        np.array(error2),
    )


def _ladder(
    family: _schemes.Family,
    rows: list[Rows],
    elementwise_per_coordinate: bool = False,
    index: np.ndarray | None = None,
) -> Ladder:
    """Candidate rows of one or more groups as a Ladder (padded to one count).

    Padding candidates have no weights and infinite noise: never chosen.
    ``index`` (per coordinate) picks each coordinate's rows among ``rows``.
    """
    count = max(r[0].shape[0] for r in rows)
    stacks: list[list[np.ndarray]] = [[], [], [], [], [], []]
    for weights, error, noise, order, step, error2 in rows:
        extra = count - weights.shape[0]
        stacks[0].append(np.pad(weights, ((0, extra), (0, 0))))
        stacks[1].append(np.pad(error, ((0, extra), (0, 0))))
        stacks[2].append(np.pad(noise, (0, extra), constant_values=np.inf)[:, None])
        stacks[3].append(np.pad(order, (0, extra))[:, None])
        stacks[4].append(np.pad(step, (0, extra))[:, None])
        stacks[5].append(np.pad(error2, ((0, extra), (0, 0))))
    arrays = [np.stack(a) for a in stacks]  # (g, C, L) and (g, C, 1)
    if index is not None:
        arrays = [a[index] for a in arrays]
    if elementwise_per_coordinate:  # output i takes coordinate i's rows: (n, 1, C, .)
        arrays = [a[:, None] for a in arrays]
    weights, error, noise, order, step, error2 = (frozen(a, np.float64) for a in arrays)
    used = frozen(weights != 0, np.float64)
    return Ladder(family, weights, error, noise, order, step, used, error2)


def _central_rows(r: int, v: float, power: int) -> Rows:
    """A central ladder of r levels (sets (k, +), (k, -)) of the first or second derivative."""
    levels = np.zeros((r, 2 * r))
    for k in range(r):
        if power == 1:
            levels[k, 2 * k], levels[k, 2 * k + 1] = v**k / 2, -(v**k) / 2
        else:
            levels[k, 2 * k] = levels[k, 2 * k + 1] = v ** (2 * k)
    return _candidates(levels, [v ** (2 * j) for j in range(1, r)], 2, 2, v)


def _one_sided_rows(r: int, v: float, side: float) -> Rows:
    """A one-sided ladder of 2r single points ``x + side H / v**k``: forward differences."""
    levels = np.zeros((2 * r, 2 * r))
    for k in range(2 * r):
        levels[k, k] = side * v**k
    return _candidates(levels, [v**j for j in range(1, 2 * r)], 1, 1, v)


def _moves(side: float, r: int, v: float) -> np.ndarray:
    scale = v ** -np.arange(r, dtype=np.float64)
    if side == 0.0:
        return np.stack([scale, -scale], axis=1).reshape(2 * r)
    return side * v ** -np.arange(2 * r, dtype=np.float64)


def _unique_sides(sides: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct sides (NaN, central, as 0.0) and each coordinate's index among them."""
    side = np.nan_to_num(np.asarray(sides, dtype=np.float64), nan=0.0)
    distinct, index = np.unique(side, return_inverse=True)
    return distinct, index.reshape(-1)


def _family(moves: np.ndarray, n: int, elementwise: bool) -> _schemes.Family:
    """The family of per-coordinate moves ``(n, L)``, or ``(1, L)`` for all (one side)."""
    return _schemes.coordinate_family(moves, n, elementwise=elementwise)


@functools.lru_cache(maxsize=128)
def first_ladder(n: int, sides: tuple[float, ...], r: int, v: float, elementwise: bool) -> Ladder:
    """The ladder of first derivatives: central, or one-sided where ``sides`` says.

    Built once per distinct side and indexed per coordinate: its Python cost
    does not grow with n.
    """
    distinct, index = _unique_sides(sides)
    moves = np.stack([_moves(float(s), r, v) for s in distinct])  # (sides, 2r)
    rows = [_central_rows(r, v, 1) if s == 0.0 else _one_sided_rows(r, v, s) for s in distinct]
    if distinct.size == 1:  # one row of moves for every coordinate
        return _ladder(_family(moves, n, elementwise), rows)
    return _ladder(_family(moves[index], n, elementwise), rows, elementwise, index)


def _pilot_offsets(side: float, ratio: float) -> list[float]:
    near = 1.0 / ratio
    return [side * near, side * 2 * near, side] if side else [near, -near, 1.0]


def _pilot_weights(side: float, ratio: float) -> np.ndarray:
    offsets = _pilot_offsets(side, ratio)
    rows = [fornberg([0.0, *offsets], k)[1:] for k in range(1, 4)]
    near = [0.0, *offsets[:2]]  # x and the two nearest points
    rows += [[*fornberg(near, k)[1:], 0.0] for k in (1, 2)]
    return np.array(rows, dtype=np.float64)


@functools.lru_cache(maxsize=128)
def pilot_scheme(
    n: int, sides: tuple[float, ...], elementwise: bool, ratio: float = 256.0
) -> tuple[_schemes.Family, np.ndarray, np.ndarray]:
    """The pilot: its family, and weights ``(g, 5, 3)`` of derivative estimates per ``T**k``.

    Central coordinates move by ``+-T/ratio`` and ``+T``; one-sided ones by
    ``s T {1/ratio, 2/ratio, 1}`` (``ratio`` from :func:`pilot_ratio`). Rows
    0-2 are Fornberg's weights of derivatives 1 to 3 from the cubic through
    x and the three points, rows 3-4 those of derivatives 1 and 2 from x and
    the two nearest points alone (for where the farthest is not finite: log
    near 0). They apply to the values minus f(x). Built once per distinct
    side and indexed per coordinate.
    """
    distinct, index = _unique_sides(sides)
    moves = np.array([_pilot_offsets(float(s), ratio) for s in distinct])  # (sides, 3)
    w = np.stack([_pilot_weights(float(s), ratio) for s in distinct])
    if distinct.size == 1:
        family = _family(moves, n, elementwise)
    else:
        family = _family(moves[index], n, elementwise)
        w = w[index][:, None] if elementwise else w[index]
    return family, frozen(w, np.float64), frozen(w != 0, np.float64)


def all_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, ``i < j``, of n coordinates (a dense Hessian's)."""
    first, second = np.triu_indices(n, 1)
    return first.astype(np.int64), second.astype(np.int64)


def second_ladders(
    n: int, r: int, v: float, first: np.ndarray, second: np.ndarray
) -> tuple[Ladder, Ladder | None]:
    """The Hessian's ladders: second differences per coordinate, mixed ones per pair.

    Returns ``(diagonal, mixed)``; the mixed ladder's groups are the pairs
    ``(first[p], second[p])`` (None without pairs). Level k of pair (i, j)
    moves both coordinates by ``+-h / v**k`` in the four sign combinations.
    """
    diagonal = _ladder(_family(_moves(0.0, r, v)[None, :], n, False), [_central_rows(r, v, 2)])
    if first.size == 0:
        return diagonal, None
    return diagonal, _ladder(
        _schemes.Family(
            frozen(np.stack([first, second], axis=1), np.int64),
            _mixed_moves(r, v),
            True,
            int(first.size),
        ),
        [_mixed_rows(r, v)],
    )


@functools.lru_cache(maxsize=32)
def _mixed_moves(r: int, v: float) -> np.ndarray:
    signs = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
    moves = [[a * v**-k, b * v**-k] for k in range(r) for a, b in signs]
    return frozen(np.array([moves]), np.float64)


@functools.lru_cache(maxsize=32)
def _mixed_rows(r: int, v: float) -> Rows:
    levels = np.zeros((r, 4 * r))
    for k in range(r):
        levels[k, 4 * k : 4 * k + 4] = np.array([1.0, -1.0, -1.0, 1.0]) * v ** (2 * k) / 4
    return _candidates(levels, [v ** (2 * j) for j in range(1, r)], 2, 2, v)
