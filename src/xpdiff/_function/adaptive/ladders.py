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
from typing import Any

import numpy as np

from ..._numerics.stencils import fornberg
from .. import schemes as _schemes

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


def _frozen(array: Any, dtype: Any = np.float64) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=dtype)
    array.flags.writeable = False
    return array


def _coords(n: int) -> np.ndarray:
    return _frozen(np.arange(n)[:, None], np.int64)


def _candidates(
    levels: np.ndarray, factors: list[float], base_order: int, order_step: int, v: Any
) -> Any:
    """Every entry of the Richardson table of ``levels`` (rows of weights), as candidates.

    Entry (j, k), k >= j, extrapolates levels ``k - j .. k`` to order
    ``base_order + j * order_step``; its error estimate is its difference
    from the entry it improves on, (j - 1, k), or from the level before for
    j = 0 (entry (0, 0) has none and is left out). Returns the rows
    ``(weights, error, noise, order, step)`` with ``step`` the entry's
    largest step (that of level ``k - j``) in units of H.
    """
    table = {(0, k): row for k, row in enumerate(levels)}
    for j, factor in enumerate(factors, start=1):
        for k in range(j, len(levels)):
            table[j, k] = (table[j - 1, k] * factor - table[j - 1, k - 1]) / (factor - 1)
    weights: Any = []
    error: list = []
    error2: list = []
    order: list = []
    step: list = []
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
    weights = np.array(weights)
    noise = np.sum(np.abs(weights), axis=1) + np.abs(np.sum(weights, axis=1))
    return (
        weights,
        np.array(error),
        noise,
        np.array(order, dtype=np.float64),
        np.array(step),
        np.array(error2),
    )


def _ladder(
    family: Any, rows: list[tuple], elementwise_per_coordinate: Any = False, index: Any = None
) -> Ladder:
    """Candidate rows of one or more groups as a Ladder (padded to one count).

    Padding candidates have no weights and infinite noise: never chosen.
    ``index`` (per coordinate) picks each coordinate's rows among ``rows``.
    """
    count = max(r[0].shape[0] for r in rows)
    stacks: list[list[Any]] = [[], [], [], [], [], []]
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
    weights, error, noise, order, step, error2 = (_frozen(a) for a in arrays)
    return Ladder(family, weights, error, noise, order, step, _frozen(weights != 0), error2)


def _central_rows(r: int, v: float, power: int) -> Any:
    """A central ladder of r levels (sets (k, +), (k, -)) of the first or second derivative."""
    levels = np.zeros((r, 2 * r))
    for k in range(r):
        if power == 1:
            levels[k, 2 * k], levels[k, 2 * k + 1] = v**k / 2, -(v**k) / 2
        else:
            levels[k, 2 * k] = levels[k, 2 * k + 1] = v ** (2 * k)
    return _candidates(levels, [v ** (2 * j) for j in range(1, r)], 2, 2, v)


def _one_sided_rows(r: int, v: float, side: float) -> Any:
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


def _unique_sides(sides: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The distinct sides (NaN, central, as 0.0) and each coordinate's index among them."""
    side = np.nan_to_num(np.asarray(sides, dtype=np.float64), nan=0.0)
    distinct, index = np.unique(side, return_inverse=True)
    return distinct, index.reshape(-1)


def _family(moves: np.ndarray, elementwise: bool, shared: bool = False) -> _schemes.Family:
    """The family of per-coordinate moves ``(n, L)`` (in units of each coordinate's step).

    Group i moves coordinate i alone by ``moves[i]``; ``elementwise``, one
    group moves every coordinate at once. ``shared``: every row of moves is
    the same (one side for all), kept once.
    """
    n = moves.shape[0]
    if elementwise:
        return _schemes.Family(None, _frozen(moves.T[None, :, :]), relative=True, groups=1)
    multipliers = moves[:1, :, None] if shared else moves[:, :, None]
    return _schemes.Family(_coords(n), _frozen(multipliers), relative=True, groups=n)


@functools.lru_cache(maxsize=128)
def first_ladder(n: int, sides: tuple, r: int, v: float, elementwise: bool) -> Ladder:
    """The ladder of first derivatives: central, or one-sided where ``sides`` says.

    Built once per distinct side and indexed per coordinate: its Python cost
    does not grow with n.
    """
    distinct, index = _unique_sides(sides)
    moves = np.stack([_moves(float(s), r, v) for s in distinct])[index]  # (n, 2r)
    rows = [_central_rows(r, v, 1) if s == 0.0 else _one_sided_rows(r, v, s) for s in distinct]
    if distinct.size == 1:
        return _ladder(_family(moves, elementwise, shared=True), rows)
    return _ladder(_family(moves, elementwise), rows, elementwise, index)


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
def pilot_scheme(n: int, sides: tuple, elementwise: bool, ratio: float = 256.0) -> Any:
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
    moves = np.array([_pilot_offsets(float(s), ratio) for s in distinct])[index]  # (n, 3)
    w = np.stack([_pilot_weights(float(s), ratio) for s in distinct])
    if distinct.size == 1:
        family = _family(moves, elementwise, shared=True)
    else:
        family = _family(moves, elementwise)
        w = w[index][:, None] if elementwise else w[index]
    return family, _frozen(w), _frozen(w != 0)


def all_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, ``i < j``, of n coordinates (a dense Hessian's)."""
    first, second = np.triu_indices(n, 1)
    return first.astype(np.int64), second.astype(np.int64)


def second_ladders(n: int, r: int, v: float, first: np.ndarray, second: np.ndarray) -> Any:
    """The Hessian's ladders: second differences per coordinate, mixed ones per pair.

    Returns ``(diagonal, mixed)``; the mixed ladder's groups are the pairs
    ``(first[p], second[p])`` (None without pairs). Level k of pair (i, j)
    moves both coordinates by ``+-h / v**k`` in the four sign combinations.
    """
    diagonal = _ladder(
        _schemes.Family(_coords(n), _frozen(_moves(0.0, r, v)[None, :, None]), True, n),
        [_central_rows(r, v, 2)],
    )
    if first.size == 0:
        return diagonal, None
    return diagonal, _ladder(
        _schemes.Family(
            _frozen(np.stack([first, second], axis=1), np.int64),
            _mixed_moves(r, v),
            True,
            int(first.size),
        ),
        [_mixed_rows(r, v)],
    )


@functools.lru_cache(maxsize=32)
def _mixed_moves(r: int, v: float) -> np.ndarray:
    signs = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
    return _frozen(np.array([[[a * v**-k, b * v**-k] for k in range(r) for a, b in signs]]))


@functools.lru_cache(maxsize=32)
def _mixed_rows(r: int, v: float) -> Any:
    levels = np.zeros((r, 4 * r))
    for k in range(r):
        levels[k, 4 * k : 4 * k + 4] = np.array([1.0, -1.0, -1.0, 1.0]) * v ** (2 * k) / 4
    return _candidates(levels, [v ** (2 * j) for j in range(1, r)], 2, 2, v)
