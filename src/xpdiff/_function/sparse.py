"""Sparse Jacobians and Hessians: patterns, column groups, compressed evaluation.

A Jacobian whose pattern has few entries per row needs far fewer
perturbations than columns: columns that share no row (structurally
orthogonal, Curtis, Powell and Reid 1974) can move together, and each
output row then sees the change of exactly one of them. This module turns
a user's pattern (a boolean array, a scipy.sparse or cupyx.scipy.sparse
matrix, or scipy's ``(structure, groups)``) into a host-side
:class:`Pattern`: the entries in CSR order, a group for every column
(greedy colouring in column order, which is optimal for banded patterns),
and the maps that take a compressed derivative — one value per output row
and group — back to the pattern's entries. The groups are a scheme like any
other (a ``_schemes.Family`` whose group g moves the columns of mask g), so
every group, level and sign goes to func in one batched call through the
engine, chunked by the memory budget. The result has the pattern's format:
a dense array of x's library for a dense pattern, scipy CSR for scipy,
cupyx CSR for cupyx.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _backend

__all__ = ["Pattern", "greedy_groups", "group_columns", "pattern_of"]


@dataclass(frozen=True, eq=False)
class Pattern:
    """A sparsity pattern of shape ``(m, n)`` with its column groups, on the host."""

    shape: tuple
    indptr: np.ndarray  # CSR row pointers, int64
    indices: np.ndarray  # column of each entry, CSR order
    rows: np.ndarray  # row of each entry
    groups: np.ndarray  # group of each column
    count: int  # number of groups
    kind: str  # "dense", "scipy" or "cupyx": the format of results
    container: Any = None  # scipy's csr_matrix or csr_array, cupyx's csr_matrix

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    @functools.cached_property
    def masks(self) -> np.ndarray:
        """``(groups, n)``: 1.0 where column c is in group g (the moves of a ``Family``)."""
        masks = np.zeros((self.count, self.shape[1]))
        masks[self.groups, np.arange(self.shape[1])] = 1.0
        masks.flags.writeable = False
        return masks

    @functools.cached_property
    def compressed(self) -> np.ndarray:
        """Index of each entry in the flat ``(m, groups)`` compressed derivative."""
        index = self.rows * self.count + self.groups[self.indices]
        index.flags.writeable = False
        return index

    @functools.cached_property
    def row_column(self) -> np.ndarray:
        """``(m * groups,)``: the column that group g contributes to row i, or n if none."""
        m, n = self.shape
        out = np.full(m * self.count, n, dtype=np.int64)
        out[self.compressed] = self.indices
        out.flags.writeable = False
        return out


# --- patterns ------------------------------------------------------------------------------


def _is_scipy_sparse(obj: Any) -> bool:
    return type(obj).__module__.startswith("scipy.sparse")


def _is_cupyx_sparse(obj: Any) -> bool:
    return type(obj).__module__.startswith("cupyx.scipy.sparse")


def _csr_of(structure: Any, shape: tuple) -> Any:
    """(indptr, indices, kind, container) of a pattern given in any accepted form."""
    if _is_cupyx_sparse(structure):
        host = structure.get()
        indptr, indices = _csr_of(host, shape)[:2]
        return indptr, indices, "cupyx", _backend.cupyx_sparse_module().csr_matrix
    if _is_scipy_sparse(structure):
        import scipy.sparse as sp

        if structure.ndim != 2:
            raise ValueError(f"sparsity must be 2-d, got a {structure.ndim}-d sparse array")
        _check_shape(structure.shape, shape)
        csr = sp.csr_array(structure, dtype=np.float64, copy=True)
        csr.data = (csr.data != 0).astype(np.float64)
        csr.eliminate_zeros()
        csr.sum_duplicates()
        csr.sort_indices()
        container = sp.csr_array if isinstance(structure, sp.sparray) else sp.csr_matrix
        return (
            csr.indptr.astype(np.int64),
            csr.indices.astype(np.int64),
            "scipy",
            container,
        )
    host = _dense_pattern(structure, ", or a tuple (structure, groups)")
    if host.dtype.kind not in "biuf":
        raise TypeError(f"sparsity must hold booleans or numbers, got dtype {host.dtype}")
    if host.ndim != 2:
        raise ValueError(f"sparsity must be 2-d, got shape {host.shape}")
    _check_shape(host.shape, shape)
    rows, cols = np.nonzero(host)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int64), "dense", None


def _dense_pattern(structure: Any, also: str = "") -> np.ndarray:
    """A pattern given as an array of any library or as nested lists, on the host.

    Anything else is a TypeError that names the accepted forms (``also``: more
    of them, where the caller takes more).
    """
    if _backend.is_array(structure):
        return _backend.to_host(structure)
    if isinstance(structure, (list, tuple)):
        return np.asarray(structure)
    raise TypeError(
        f"sparsity must be a boolean array of shape (m, n), a scipy.sparse or "
        f"cupyx.scipy.sparse matrix or array{also}; got {type(structure).__name__}"
    )


def _check_shape(given: tuple, shape: tuple) -> None:
    if tuple(given) != tuple(shape):
        raise ValueError(
            f"sparsity has shape {tuple(given)}, but the derivative has shape {tuple(shape)} "
            f"(outputs x coordinates)"
        )


def pattern_of(sparsity: Any, shape: tuple, kinds: tuple | None = None) -> Pattern:
    """A :class:`Pattern` from the ``sparsity`` argument, for a derivative of ``shape``.

    ``kinds`` (one per column) keeps columns of different kinds (central or
    one-sided differences) in different groups. A given ``(structure,
    groups)`` is checked: a group whose columns share a row is a ValueError.
    """
    groups = None
    if isinstance(sparsity, tuple) and len(sparsity) == 2 and not _is_plain_row(sparsity):
        sparsity, groups = sparsity
    indptr, indices, kind, container = _csr_of(sparsity, shape)
    m, n = shape
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
    if groups is None:
        groups = greedy_groups(indptr, indices, n, kinds)
    else:
        groups = _checked_groups(groups, n, kinds)
        _check_orthogonal(rows, indices, groups)
    count = int(groups.max()) + 1 if n else 0
    for array in (indptr, indices, rows, groups):
        array.flags.writeable = False
    return Pattern((m, n), indptr, indices, rows, groups, count, kind, container)


def _is_plain_row(value: tuple) -> bool:
    """A tuple of two numbers or two rows is a 2 x n pattern, not ``(structure, groups)``."""
    first = value[0]
    return isinstance(first, (list, numbers.Number, bool))


def _checked_groups(groups: Any, n: int, kinds: Any) -> np.ndarray:
    if _backend.is_array(groups):
        groups = _backend.to_host(groups)
    groups = np.asarray(groups)
    if groups.dtype.kind not in "iu":
        raise TypeError(f"groups must be integers (a group per column), got dtype {groups.dtype}")
    if groups.shape != (n,):
        raise ValueError(
            f"groups must have one entry per column, shape ({n},); got {groups.shape}"
        )
    if n and groups.min() < 0:
        raise ValueError(f"groups must be >= 0, got {int(groups.min())}")
    groups = groups.astype(np.int64)
    if kinds is not None and len(set(kinds)) > 1:
        kinds = np.asarray(kinds)
        for g in np.unique(groups):
            if len(set(kinds[groups == g].tolist())) > 1:
                raise ValueError(
                    f"group {int(g)} holds columns with different sides; with side, give "
                    f"groups whose columns share their side, or let xpdiff group them"
                )
    # renumber 0 .. count - 1 in order, so that no group is empty
    _, renumbered = np.unique(groups, return_inverse=True)
    return renumbered.astype(np.int64)


def _check_orthogonal(rows: np.ndarray, indices: np.ndarray, groups: np.ndarray) -> None:
    """Columns of one group must not share a row: each row meets a group at most once."""
    if rows.size == 0:
        return
    count = int(groups.max()) + 1
    keys = rows * count + groups[indices]
    order = np.argsort(keys, kind="stable")
    same = keys[order][1:] == keys[order][:-1]
    if np.any(same):
        k = int(np.flatnonzero(same)[0])
        a, b = order[k], order[k + 1]
        raise ValueError(
            f"columns {int(indices[a])} and {int(indices[b])} are in group "
            f"{int(groups[indices[a]])} but both have an entry in row {int(rows[a])}: the "
            f"columns of a group must share no row (they move together, and the row could "
            f"not tell them apart)"
        )


def greedy_groups(indptr: Any, indices: Any, n: int, kinds: Any = None) -> np.ndarray:
    """A group for every column: greedy colouring of the column conflict graph.

    Columns conflict when they share a row. Each column, in order, takes the
    smallest group that none of its earlier conflicting columns has (the
    Curtis-Powell-Reid grouping); in column order this is optimal for banded
    patterns (bandwidth b: b groups). With ``kinds``, columns of different
    kinds never share a group.

    The conflicts are never listed: each row keeps the set of groups its
    columns took so far (a bit mask), and a column's forbidden groups are the
    union of its rows' sets. The work is one pass over the pattern's entries
    plus bit operations on masks of at most as many bits as groups, so a
    dense row costs one group per column it touches, not a pair per two of
    its columns.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    m = indptr.size - 1
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
    by_column = np.argsort(indices, kind="stable")
    column_rows = rows[by_column].tolist()  # each column's rows, columns in order
    starts = np.searchsorted(indices[by_column], np.arange(n + 1)).tolist()
    row_groups = [0] * m  # bit g set: a column of group g has an entry in this row
    color = [0] * n
    for j in range(n):
        its_rows = column_rows[starts[j] : starts[j + 1]]
        used = 0
        for i in its_rows:
            used |= row_groups[i]
        group = (~used & (used + 1)).bit_length() - 1  # the lowest clear bit
        color[j] = group
        bit = 1 << group
        for i in its_rows:
            row_groups[i] |= bit
    groups = np.array(color, dtype=np.int64)
    if kinds is not None and len(set(kinds)) > 1:
        # each kind has its own range of groups, renumbered from 0 in order
        kind_of = np.unique(np.asarray(kinds), return_inverse=True)[1].reshape(-1)
        groups = np.unique(groups + kind_of * n, return_inverse=True)[1].astype(np.int64)
    return groups


# --- results -------------------------------------------------------------------------------


def assemble(xp: Any, device: Any, pattern: Pattern, compressed: Any, steps: Any) -> Any:
    """The pattern's entries from a compressed derivative, in the pattern's format.

    ``compressed`` is ``(m, groups)`` on the device: group g's change in row
    i, per unit step; ``steps`` ``(n,)`` the step of each column (the
    entry is divided by its column's step), or None.
    """
    flat = xp.reshape(compressed, (-1,))
    index = _backend.host_to_device(pattern.compressed, xp, device)
    data = xp.take(flat, index, axis=0)
    if steps is not None:
        columns = _backend.host_to_device(pattern.indices, xp, device)
        data = data / xp.take(steps, columns, axis=0)
    return _in_format(xp, device, pattern, data)


def _in_format(xp: Any, device: Any, pattern: Pattern, data: Any) -> Any:
    """The entries ``data`` (CSR order, on the device) in the pattern's format.

    Dense: an ``(m, n)`` array of x's library, zeros off the pattern; scipy or
    cupyx: a CSR matrix (or array) of the pattern's own class.
    """
    m, n = pattern.shape
    if pattern.kind == "dense":
        where = np.full(m * n, pattern.nnz, dtype=np.int64)  # nnz: the zero after the entries
        where[pattern.rows * n + pattern.indices] = np.arange(pattern.nnz)
        padded = xp.concat([data, xp.zeros((1,), dtype=data.dtype, device=device)], axis=0)
        full = xp.take(padded, _backend.host_to_device(where, xp, device), axis=0)
        return xp.reshape(full, (m, n))
    if pattern.kind == "cupyx":
        cupy = _backend.cupy_module()
        return pattern.container(
            (cupy.asarray(data), cupy.asarray(pattern.indices), cupy.asarray(pattern.indptr)),
            shape=(m, n),
        )
    return pattern.container(
        (_backend.to_host(data), pattern.indices.copy(), pattern.indptr.copy()), shape=(m, n)
    )


def entries_steps(xp: Any, device: Any, pattern: Pattern, steps: Any, fill: float = 1.0) -> Any:
    """``(m, groups)``: the step of the column behind each compressed value (``fill`` if none)."""
    padded = xp.concat([steps, xp.full((1,), fill, dtype=steps.dtype, device=device)], axis=0)
    index = _backend.host_to_device(pattern.row_column, xp, device)
    return xp.reshape(xp.take(padded, index, axis=0), (pattern.shape[0], pattern.count))


def symmetric_pairs(pattern: Pattern) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Hessian pattern's lower-triangle pairs ``(i, j)``, i > j, and each entry's value index.

    The values of a sparse Hessian are the n diagonal entries followed by
    one per pair; entry k of the pattern takes value ``index[k]``. The
    pattern must be symmetric (a ValueError otherwise).
    """
    n = pattern.shape[0]
    rows, cols = pattern.rows, pattern.indices
    keys = rows * n + cols
    mirrored = np.sort(cols * n + rows)
    if not np.array_equal(np.sort(keys), mirrored):
        k = int(np.flatnonzero(~np.isin(keys, mirrored))[0])
        raise ValueError(
            f"a Hessian's sparsity must be symmetric: it has entry ({int(rows[k])}, "
            f"{int(cols[k])}) but not ({int(cols[k])}, {int(rows[k])})"
        )
    lower = rows > cols
    pair_keys = np.unique(keys[lower])
    first, second = pair_keys // n, pair_keys % n
    low, high = np.maximum(rows, cols), np.minimum(rows, cols)
    index = np.where(rows == cols, rows, n + np.searchsorted(pair_keys, low * n + high)).astype(
        np.int64
    )
    return first.astype(np.int64), second.astype(np.int64), index


def assemble_values(xp: Any, device: Any, pattern: Pattern, values: Any, index: np.ndarray) -> Any:
    """The pattern's entries from ``values`` (any 1-d layout), entry k = ``values[index[k]]``."""
    data = xp.take(values, _backend.host_to_device(index, xp, device), axis=0)
    return _in_format(xp, device, pattern, data)


def require_one_point(problem: Any) -> None:
    if problem.batch_shape:
        raise ValueError(
            f"sparsity works with one point x of shape (n,); got x of shape {problem.shape} "
            f"(differentiate each point in its own call)"
        )


def group_columns(sparsity: Any, side: Any = None) -> np.ndarray:
    """Groups of structurally orthogonal columns of a Jacobian pattern.

    Columns that share no row can be perturbed together (Curtis, Powell and
    Reid, 1974); :func:`jacobian` with ``sparsity`` does this itself, but an
    optimizer that differentiates many times with one pattern can compute
    the groups once and pass ``sparsity=(pattern, groups)``.

    Parameters
    ----------
    sparsity : array_like or sparse matrix
        The pattern, shape ``(m, n)``: a boolean (or numeric: nonzero) array
        of any library, or a scipy.sparse or cupyx.scipy.sparse matrix or
        array.
    side : sequence, optional
        The ``side`` that :func:`jacobian` will get: columns of different
        sides are never grouped together.

    Returns
    -------
    groups : numpy.ndarray
        ``(n,)`` integers from 0: the group of each column. Greedy colouring
        in column order: a band of b entries per row takes b groups.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> pattern = np.eye(6, dtype=bool) | np.eye(6, k=1, dtype=bool) | np.eye(6, k=-1, dtype=bool)
    >>> xd.group_columns(pattern)
    array([0, 1, 2, 0, 1, 2])
    """
    shape = _shape_of(sparsity)
    kinds = None
    if side is not None:
        kinds = tuple(
            0.0 if s is None or (isinstance(s, float) and s != s) else float(s) for s in side
        )
    groups = pattern_of(sparsity, shape, kinds).groups.copy()
    return groups


def _shape_of(sparsity: Any) -> tuple:
    if _is_scipy_sparse(sparsity) or _is_cupyx_sparse(sparsity) or _backend.is_array(sparsity):
        shape = tuple(sparsity.shape)
    else:
        shape = np.shape(_dense_pattern(sparsity))
    if len(shape) != 2:
        raise ValueError(f"sparsity must be 2-d, got shape {shape}")
    return shape
