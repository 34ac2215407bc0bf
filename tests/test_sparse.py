"""Sparse Jacobians and Hessians: groups of columns, one batched call, the pattern's format."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import CountingFunc, dask_must_not_compute, traced_peak

import xpdiff as xd
from xpdiff._function import sparse as _sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_sparse import (
    band_pattern,
    broyden_banded,
    broyden_banded_jacobian,
    broyden_tridiagonal,
    broyden_tridiagonal_jacobian,
)

sys.path.pop(0)

METHODS = ["Richardson", "simple", "complex", "adaptive"]
TOLERANCE = {"Richardson": 1e-8, "simple": 1e-3, "complex": 1e-14, "adaptive": 1e-11}


# --- the targets -----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_tridiagonal_2000(method):
    n = 2000
    x = -np.ones(n)  # Broyden tridiagonal's standard starting point
    func = CountingFunc(broyden_tridiagonal)
    J, info = xd.jacobian(func, x, method, sparsity=band_pattern(n, 1), full_output=True)
    assert type(J) is sp.csr_matrix
    assert J.shape == (n, n)
    assert J.nnz == 3 * n - 2
    assert abs(J - broyden_tridiagonal_jacobian(x)).max() <= TOLERANCE[method]
    groups = 3
    if method == "Richardson":
        assert func.calls == 2
        assert info.nfev <= 2 * 4 * groups + 1
    assert info.ncalls == func.calls
    assert type(info.error) is sp.csr_matrix


def test_banded_within_the_memory_budget():
    n = 20_000
    x = np.random.default_rng(1).uniform(-1, 1, n)
    S = band_pattern(n, 2)
    groups = _sparse.pattern_of(S, (n, n)).groups
    assert groups.max() + 1 == 5  # greedy in column order: optimal for a band
    with xd.memory_budget(8 * 2**20):
        J, peak = traced_peak(lambda: xd.jacobian(broyden_banded, x, sparsity=(S, groups)))
    # xpdiff's points and values within the budget; the function's own temporaries
    # (five arrays of a call's size here) come on top
    assert peak <= 2.5 * 8 * 2**20
    exact = broyden_banded_jacobian(x)
    assert abs(J - exact).max() <= 1e-5 * abs(exact).max()


# --- every method agrees with the dense Jacobian ---------------------------------------------


def _system(p):
    """A function of 6 coordinates with 7 outputs and a sparse Jacobian."""
    return np.stack(
        [
            p[0] * p[1],
            np.sin(p[1]) + p[2] ** 2,
            np.exp(p[3]) * p[0],
            p[4] * p[5] - p[2],
            np.log(2 + p[5]) * p[3],
            p[0] + p[4] ** 3,
            np.cos(p[2] * p[5]),
        ]
    )


X = np.array([0.3, -0.7, 1.1, 0.4, -0.2, 0.9])


def _pattern():
    dense = xd.jacobian(_system, X, "complex")
    return dense != 0, dense


SIDES = [1, None, -1, None, 1, -1]


@pytest.mark.parametrize(
    ("method", "side"),
    [(method, None) for method in METHODS]
    + [(method, SIDES) for method in METHODS if method != "complex"],
)
def test_every_method_and_side(method, side):
    pattern, exact = _pattern()
    J = xd.jacobian(_system, X, method, side=side, sparsity=pattern)
    dense = xd.jacobian(_system, X, method, side=side)
    assert type(J) is np.ndarray
    assert J.shape == (7, 6)
    np.testing.assert_array_equal(J[~pattern], 0.0)
    np.testing.assert_allclose(J, exact, rtol=0, atol=TOLERANCE[method] * 10)
    np.testing.assert_allclose(J[pattern], dense[pattern], rtol=0, atol=TOLERANCE[method] * 10)


def test_formats_and_given_groups():
    pattern, exact = _pattern()
    csr_matrix = sp.csr_matrix(pattern)
    J = xd.jacobian(_system, X, sparsity=csr_matrix)
    assert type(J) is sp.csr_matrix
    np.testing.assert_allclose(J.toarray(), exact, atol=1e-9)
    Ja = xd.jacobian(_system, X, sparsity=sp.csr_array(pattern.astype(float)))
    assert type(Ja) is sp.csr_array
    assert (sp.coo_array(pattern).nnz, Ja.nnz) == (pattern.sum(), pattern.sum())
    groups = np.arange(6)  # no grouping at all: still valid
    Jg = xd.jacobian(_system, X, sparsity=(csr_matrix, groups))
    np.testing.assert_allclose(Jg.toarray(), exact, atol=1e-9)
    computed = _sparse.pattern_of(csr_matrix, (7, 6)).groups
    Jc = xd.jacobian(_system, X, sparsity=(pattern, computed))
    np.testing.assert_array_equal(Jc, J.toarray())


def test_one_call_for_all_groups():
    n = 300
    func = CountingFunc(broyden_tridiagonal)
    xd.jacobian(func, -np.ones(n), sparsity=band_pattern(n, 1))
    # the groups' points, then an unperturbed copy of x and a sentinel (the check that
    # func does not mix points)
    assert func.shapes == [(n,), (n, 2 * 4 * 3 + 2)]


def test_a_pattern_of_another_type_is_a_type_error_naming_the_forms():
    """jacobian and group_columns share the check; jacobian also takes (structure, groups)."""
    forms = "a scipy.sparse or cupyx.scipy.sparse matrix or array"
    with pytest.raises(TypeError, match=rf"{forms}, or a tuple \(structure, groups\); got dict"):
        xd.jacobian(_system, X, sparsity={0: 1})
    with pytest.raises(TypeError, match=rf"{forms}; got int"):
        xd.group_columns(3)
    assert xd.group_columns([[1, 1, 0], [0, 1, 1]]).tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match=r"sparsity must be 2-d, got shape \(3,\)"):
        xd.group_columns([True, False, True])


def test_wrong_patterns_are_caught():
    pattern, _ = _pattern()
    with pytest.raises(ValueError, match=r"columns 0 and 1 are in group 0 but both have an entry"):
        xd.jacobian(_system, X, sparsity=(pattern, np.zeros(6, dtype=int)))
    with pytest.raises(ValueError, match=r"sparsity has shape \(6, 6\), but the derivative"):
        xd.jacobian(_system, X, sparsity=np.ones((6, 6), dtype=bool))
    with pytest.raises(TypeError, match="sparsity must be a boolean array"):
        xd.jacobian(_system, X, sparsity="dense")
    with pytest.raises(TypeError, match="groups must be integers"):
        xd.jacobian(_system, X, sparsity=(pattern, np.zeros(6)))
    with pytest.raises(ValueError, match="one entry per column"):
        xd.jacobian(_system, X, sparsity=(pattern, np.arange(5)))
    with pytest.raises(ValueError, match="one point x of shape"):
        xd.jacobian(_system, np.stack([X, X], axis=1), sparsity=pattern)
    with pytest.raises(ValueError, match="different sides"):
        xd.jacobian(_system, X, side=SIDES, sparsity=(pattern, np.array([0, 0, 1, 2, 3, 4])))
    with pytest.raises(ValueError, match="method 'complex' does not support"):
        xd.jacobian(_system, X, "complex", side=SIDES, sparsity=pattern)


def test_groups_never_share_a_row():
    rng = np.random.default_rng(5)
    for _ in range(20):
        m, n = rng.integers(5, 60, size=2)
        pattern = rng.random((m, n)) < rng.uniform(0.02, 0.3)
        built = _sparse.pattern_of(pattern, (int(m), int(n)))
        for row in pattern:
            groups = built.groups[np.flatnonzero(row)]
            assert len(set(groups.tolist())) == groups.size


# --- backends ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["Richardson", "adaptive"])
def test_backends_dense_pattern(backend, method):
    pattern, exact = _pattern()
    namespace = backend.xp

    def f(p):
        return namespace.stack(
            [
                p[0, ...] * p[1, ...],
                namespace.sin(p[1, ...]) + p[2, ...] ** 2,
                namespace.exp(p[3, ...]) * p[0, ...],
                p[4, ...] * p[5, ...] - p[2, ...],
                namespace.log(2 + p[5, ...]) * p[3, ...],
                p[0, ...] + p[4, ...] ** 3,
                namespace.cos(p[2, ...] * p[5, ...]),
            ]
        )

    J, info = xd.jacobian(f, backend.asarray(X), method, sparsity=pattern, full_output=True)
    with np.errstate(all="ignore"):  # Dask computes the selection (inf - inf) only here
        values = backend.check(J, dtype=np.float64, shape=(7, 6))
        error = backend.check(info.error, dtype=np.float64, shape=(7, 6))
    np.testing.assert_allclose(values, exact, atol=1e-9)
    np.testing.assert_array_equal(values[~pattern], 0.0)
    if method == "adaptive":
        assert np.all(np.abs(values - exact)[pattern] <= 10 * error[pattern] + 1e-15)


def test_dask_stays_lazy_with_a_dense_pattern():
    da = pytest.importorskip("dask.array")
    n = 40
    x = da.from_array(-np.ones(n), chunks=10)

    def f(p):
        return da.concatenate([p[:1] * 0, p[1:]]) * 3 - p**2 + da.concatenate([p[1:], p[:1] * 0])

    pattern = band_pattern(n, 1).toarray() != 0
    with dask_must_not_compute():
        J = xd.jacobian(f, x, sparsity=pattern)
    assert isinstance(J, da.Array)
    assert J.shape == (n, n)


# --- Hessians ----------------------------------------------------------------------------------


def _chain(p):
    return np.sum((p[1:] - p[:-1]) ** 4, axis=0) + np.sum(np.exp(p) * np.cos(p), axis=0)


def _chain_hessian(x):
    n = x.shape[0]
    d = x[1:] - x[:-1]
    H = np.diag(-2 * np.exp(x) * np.sin(x))
    w = 12 * d**2
    i = np.arange(n - 1)
    H[i, i] += w
    H[i + 1, i + 1] += w
    H[i, i + 1] -= w
    H[i + 1, i] -= w
    return H


@pytest.mark.parametrize("method", ["Richardson", "adaptive", "complex"])
def test_sparse_hessian(method):
    n = 40
    x = np.linspace(-1, 1, n)
    pattern = band_pattern(n, 1)
    func = CountingFunc(_chain)
    H, info = xd.hessian(func, x, method, sparsity=pattern, full_output=True)
    assert type(H) is sp.csr_matrix
    assert H.nnz == 3 * n - 2
    exact = _chain_hessian(x)
    tolerance = {"Richardson": 1e-6, "adaptive": 1e-9, "complex": 1e-11}[method]
    np.testing.assert_allclose(H.toarray(), exact, rtol=0, atol=tolerance * np.abs(exact).max())
    dense = xd.hessian(_chain, x, method)
    rows, cols = pattern.nonzero()
    if method in ("Richardson", "adaptive"):  # the same points for the same entries
        np.testing.assert_array_equal(np.asarray(H[rows, cols]).ravel(), dense[rows, cols])
        assert func.calls == (2 if method == "Richardson" else 3)
    assert type(info.error) is sp.csr_matrix
    if method == "Richardson":
        assert info.nfev == 1 + 2 * 4 * (n + n - 1)  # the dense one: 1 + 2 * 4 * n**2 + ...


def test_sparse_hessian_errors_and_dense_pattern():
    n = 8
    x = np.linspace(-1, 1, n)
    upper = np.triu(np.ones((n, n), dtype=bool))
    with pytest.raises(ValueError, match="must be symmetric: it has entry \\(0, 1\\)"):
        xd.hessian(_chain, x, sparsity=upper)
    pattern = band_pattern(n, 1).toarray() != 0
    H = xd.hessian(_chain, x, sparsity=pattern)
    assert type(H) is np.ndarray
    np.testing.assert_array_equal(H[~pattern], 0.0)
    np.testing.assert_allclose(H, _chain_hessian(x), atol=1e-6)


def test_grouping_a_dense_row_is_linear():
    """Tridiagonal plus one dense row: one group per column, in memory linear in the entries
    (before: every pair of the dense row's columns was listed, 9e6 pairs at n = 3000)."""
    n = 3000
    pattern = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="lil")
    pattern[n // 2, :] = 1.0
    pattern = pattern.tocsr()
    groups, peak = traced_peak(lambda: xd.group_columns(pattern))
    np.testing.assert_array_equal(np.sort(groups), np.arange(n))
    assert peak < 4 * 2**20, peak


def test_grouping_an_all_true_pattern_is_linear():
    """An all-True 2000 x 60 pattern: 60 groups, memory linear in its 120,000 entries."""
    pattern = np.ones((2000, 60), dtype=bool)
    groups, peak = traced_peak(lambda: xd.group_columns(pattern))
    np.testing.assert_array_equal(groups, np.arange(60))
    assert peak < 16 * 2**20, peak


def test_grouping_matches_greedy_colouring():
    """Random patterns and sides: valid groups (no two columns of a group share a row), and
    each column takes the smallest group its earlier conflicting columns leave."""
    rng = np.random.default_rng(3)
    for _ in range(40):
        m, n = (int(k) for k in rng.integers(1, 40, 2))
        pattern = rng.random((m, n)) < rng.uniform(0.02, 0.5)
        groups = xd.group_columns(pattern)
        for j in range(n):
            taken = {int(groups[k]) for k in range(j) if np.any(pattern[:, k] & pattern[:, j])}
            assert groups[j] == min(set(range(n + 1)) - taken)


def test_repeated_sparse_jacobian_keeps_no_memory():
    """A pattern's scheme is made per call: its layout and the engine's linear plan are
    not cached (they would never be found again and kept the masks and rectangles of
    up to 256 patterns: 0.12 MB per call at n = 5000)."""
    import gc

    n = 5000
    pattern = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1]).tocsr()
    x = np.linspace(0.5, 1.5, n)

    def f(z):
        q = 2 * z
        q[1:] += z[:-1]
        q[:-1] += z[1:]
        return np.sin(q)

    def held() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        for _ in range(2):
            first = xd.jacobian(f, x, sparsity=pattern, method="simple")
        before = held()
        for _ in range(10):
            xd.jacobian(f, x, sparsity=pattern, method="simple")
        grown = held() - before
    finally:
        tracemalloc.stop()
    q = 2 * x
    q[1:] += x[:-1]
    q[:-1] += x[1:]
    exact = sp.diags([np.cos(q[1:]), 2 * np.cos(q), np.cos(q[:-1])], [-1, 0, 1])
    assert abs(sp.csr_matrix(first) - exact).max() < 1e-3  # forward differences: O(h)
    assert grown < 100_000, grown
