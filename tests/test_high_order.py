"""Array mode beyond numpy.gradient: fd_weights, accuracy, n, periodic axes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import assert_gradient_equal, dask_must_not_compute
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import xpdiff as xd

ACCURACIES = [2, 4, 6, 8]
ORDERS = [1, 2, 3]


def exact_sin3(x, n):
    """n-th derivative of sin(3x)."""
    return 3.0**n * np.sin(3 * x + n * np.pi / 2)


# --- fd_weights ------------------------------------------------------------------


def test_fd_weights_known_stencils():
    np.testing.assert_allclose(
        xd.fd_weights([-2, -1, 0, 1, 2]), np.array([1, -8, 0, 8, -1]) / 12, rtol=0, atol=1e-15
    )
    np.testing.assert_allclose(xd.fd_weights([-1, 0, 1], n=2), [1, -2, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(xd.fd_weights([0, 1, 2]), [-1.5, 2, -0.5], rtol=0, atol=1e-15)
    w = xd.fd_weights([3.0, 4.0, 5.0], x0=3.0)
    assert w.dtype == np.float64
    assert isinstance(w, np.ndarray)


@settings(max_examples=60, deadline=None)
@given(
    numerators=st.lists(st.integers(-40, 40), min_size=2, max_size=8, unique=True),
    n=st.integers(0, 6),
    x0=st.fractions(min_value=-5, max_value=5, max_denominator=7),
)
def test_fd_weights_match_sympy(numerators, n, x0):
    sympy = pytest.importorskip("sympy")
    assume(n < len(numerators))
    points = [Fraction(k, 4) for k in numerators]
    sym = sympy.finite_diff_weights(
        n,
        [sympy.Rational(p.numerator, p.denominator) for p in points],
        sympy.Rational(x0.numerator, x0.denominator),
    )[n][-1]
    exact = np.array([float(w) for w in sym])
    ours = xd.fd_weights([float(p) for p in points], n=n, x0=float(x0))
    scale = np.max(np.abs(exact))
    np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-11 * scale)


@pytest.mark.parametrize(
    ("points", "n", "x0", "error", "match"),
    [
        ([0, 1, 1, 2], 1, 0.0, ValueError, r"points must be distinct; repeated: \[1.0\]"),
        ([0, 1, 2], 3, 0.0, ValueError, "the 3rd derivative needs at least 4 points, got 3"),
        ([0, 1], 2, 0.0, ValueError, "needs at least 3 points, got 2"),
        ([0, 1, 2], -1, 0.0, ValueError, "n must be an integer >= 0"),
        ([0, 1, 2], 1.5, 0.0, TypeError, "n must be an integer >= 0"),
        ([[0, 1], [2, 3]], 1, 0.0, ValueError, "points must be a 1-D sequence"),
        (["a", "b"], 1, 0.0, TypeError, "points must be real numbers, got dtype <U1"),
        ([0, np.inf, 2], 1, 0.0, ValueError, "must be finite"),
        ([0, 1, 2], 1, 1j, TypeError, "x0 must be a real number, got complex"),
        ([0, 1, 2], 1, "1", TypeError, "x0 must be a real number, got str"),
        ([0, 1, 2], 1, np.nan, ValueError, "must be finite"),
    ],
)
def test_fd_weights_errors(points, n, x0, error, match):
    with pytest.raises(error, match=match):
        xd.fd_weights(points, n=n, x0=x0)


def test_fd_weights_take_any_real_x0():
    third = Fraction(1, 3)
    np.testing.assert_array_equal(
        xd.fd_weights([-1, 0, 1], x0=third), xd.fd_weights([-1, 0, 1], x0=float(third))
    )
    np.testing.assert_array_equal(
        xd.fd_weights([-1, 0, 1], x0=np.float32(0.5)), xd.fd_weights([-1, 0, 1], x0=0.5)
    )


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_fd_weights_at_any_scale(scale):
    """The recursion multiplies offsets: without scaling them first it overflows."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        w = xd.fd_weights(np.array([-1.0, 0.0, 1.0]) * scale)
        points = np.array([1.0, 1.0 + 1e-7, 1.0 + 2e-7]) * scale
        near = xd.fd_weights(points, x0=points[1])
    np.testing.assert_allclose(w * scale, [-0.5, 0.0, 0.5], atol=1e-15)
    if 1e-150 <= scale <= 1e150:  # 1 / scale**2 exists in float64
        w2 = xd.fd_weights(np.array([-1.0, 0.0, 1.0]) * scale, n=2)
        np.testing.assert_allclose(w2 * scale * scale, [1.0, -2.0, 1.0], rtol=1e-14)
    spacing = np.diff(points)
    expected = np.array([-0.5 / spacing[0], 0.0, 0.5 / spacing[1]])
    np.testing.assert_allclose(near, expected, rtol=1e-6, atol=1e-6 * np.max(np.abs(expected)))


# --- defaults stay numpy.gradient; accuracy=2 is edge_order=2 --------------------


@pytest.mark.parametrize("coords", ["scalar", "uniform", "nonuniform"])
def test_accuracy_2_is_edge_order_2(backend, coords):
    rng = np.random.default_rng(0)
    f = rng.random((6, 7))
    spacing = {
        "scalar": (0.5,),
        "uniform": (np.arange(7) * 0.25,),
        "nonuniform": (np.cumsum(rng.random(7)),),
    }[coords]
    expected = np.gradient(f, *spacing, axis=1, edge_order=2)
    assert_gradient_equal(
        backend, xd.gradient(backend.asarray(f), *spacing, axis=1, accuracy=2), expected
    )
    assert_gradient_equal(
        backend,
        xd.gradient(backend.asarray(f), *spacing, axis=1, n=1, accuracy=2, edge_order=2),
        expected,
    )
    assert_gradient_equal(
        backend,
        xd.gradient(backend.asarray(f), *spacing, axis=1, n=1, periodic=False),
        np.gradient(f, *spacing, axis=1),
    )


# --- convergence: halve h, the error falls by about 2**p, edges included -------------


@pytest.mark.parametrize("accuracy", ACCURACIES)
@pytest.mark.parametrize("n", ORDERS)
def test_uniform_convergence_order(backend, n, accuracy):
    errors = []
    for points in (40, 79):  # h halves exactly
        x = np.linspace(0.0, 2.0, points)
        res = backend.check(
            xd.gradient(backend.asarray(np.sin(3 * x)), x[1] - x[0], n=n, accuracy=accuracy),
            dtype=np.float64,
            shape=x.shape,
        )
        err = np.abs(res - exact_sin3(x, n))
        edge = accuracy // 2 + n
        errors.append((np.max(np.r_[err[:edge], err[-edge:]]), np.max(err)))
    edge_order = np.log2(errors[0][0] / errors[1][0])
    overall = np.log2(errors[0][1] / errors[1][1])
    assert accuracy - 0.5 <= edge_order <= accuracy + 1.5, edge_order
    assert accuracy - 0.5 <= overall, overall


@pytest.mark.parametrize("accuracy", [2, 4, 6])
@pytest.mark.parametrize("n", ORDERS)
@pytest.mark.parametrize("where", ["host", "device"])
def test_nonuniform_convergence_order(backend, n, accuracy, where):
    rng = np.random.default_rng(10 * n + accuracy)
    errors = []
    for points in (40, 80):
        u = np.linspace(0.0, 2.0, points)
        x = u + rng.uniform(-0.25, 0.25, points) * (u[1] - u[0])
        x[0], x[-1] = 0.0, 2.0
        coords = x if where == "host" else backend.asarray(x)
        res = backend.check(
            xd.gradient(backend.asarray(np.sin(3 * x)), coords, n=n, accuracy=accuracy),
            dtype=np.float64,
            shape=x.shape,
        )
        errors.append(np.max(np.abs(res - exact_sin3(x, n))))
    assert np.log2(errors[0] / errors[1]) >= accuracy - 0.6, errors


# --- exact on polynomials of degree p+n-1, random non-uniform grids, edges included --


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.sampled_from(ORDERS),
    accuracy=st.sampled_from([2, 4, 6]),
    points=st.integers(14, 24),
)
def test_polynomials_exact_on_random_grids(backend, seed, n, accuracy, points):
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, points) + rng.uniform(-0.3, 0.3, points) * 2.0 / (points - 1)
    degree = accuracy + n - 1
    coeffs = rng.normal(size=degree + 1)
    f = np.polyval(coeffs, x)
    exact = np.polyval(np.polyder(coeffs, n), x)
    for coords in (x, backend.asarray(x)):
        res = backend.check(
            xd.gradient(backend.asarray(f), coords, n=n, accuracy=accuracy),
            dtype=np.float64,
            shape=x.shape,
        )
        h = np.min(np.diff(x))
        tol = 1e-13 * np.max(np.abs(f)) * (2.0 / h) ** n * 10**accuracy / 100
        np.testing.assert_allclose(res, exact, rtol=0, atol=tol)


@pytest.mark.parametrize("n", ORDERS)
@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_polynomials_exact_on_uniform_grids(backend, n, accuracy):
    x = np.linspace(-1.0, 1.0, 17)
    coeffs = np.random.default_rng(n + accuracy).normal(size=accuracy + n)
    f = np.polyval(coeffs, x)
    res = backend.check(
        xd.gradient(backend.asarray(f), x[1] - x[0], n=n, accuracy=accuracy),
        dtype=np.float64,
        shape=x.shape,
    )
    np.testing.assert_allclose(res, np.polyval(np.polyder(coeffs, n), x), rtol=0, atol=1e-9 * 8**n)


# --- periodic axes ---------------------------------------------------------------------


@pytest.mark.parametrize("accuracy", ACCURACIES)
@pytest.mark.parametrize("n", [1, 2])
def test_periodic_edges_as_accurate_as_interior(backend, n, accuracy):
    points = 40
    x = np.arange(points) * 2 * np.pi / points
    f = backend.asarray(np.sin(3 * x))
    exact = exact_sin3(x, n)
    scale = np.abs(exact) + 1.0  # error of a periodic stencil is proportional to f^(n)
    for spacing in (x[1] - x[0], x, np.append(x, 2 * np.pi)):
        res = backend.check(
            xd.gradient(f, spacing, n=n, accuracy=accuracy, periodic=True),
            dtype=np.float64,
            shape=x.shape,
        )
        rel = np.abs(res - exact) / scale
        edge = max(rel[:5].max(), rel[-5:].max())
        assert edge <= 1.05 * rel[5:-5].max() + 1e-13
    # without periodic the edges are worse: the test can tell the two apart
    res = backend.to_numpy(xd.gradient(f, x[1] - x[0], n=n, accuracy=accuracy))
    rel = np.abs(res - exact) / scale
    assert max(rel[0], rel[-1]) > 1.5 * rel[5:-5].max()


@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_periodic_nonuniform_convergence(backend, accuracy):
    rng = np.random.default_rng(accuracy)
    errors = []
    for points in (32, 64):
        u = np.arange(points) * 2 * np.pi / points
        x = u + rng.uniform(-0.2, 0.2, points) * (u[1] - u[0])
        closed = np.append(x, x[0] + 2 * np.pi)
        res = backend.check(
            xd.gradient(
                backend.asarray(np.sin(3 * x)),
                backend.asarray(closed),
                accuracy=accuracy,
                periodic=True,
            ),
            dtype=np.float64,
            shape=x.shape,
        )
        errors.append(np.max(np.abs(res - 3 * np.cos(3 * x))))
    assert np.log2(errors[0] / errors[1]) >= accuracy - 0.6, errors


def test_periodic_per_axis(backend):
    rng = np.random.default_rng(3)
    y = np.arange(16) * 2 * np.pi / 16
    x = np.cumsum(rng.uniform(0.5, 1.5, 9))
    f = np.sin(y)[:, None] * np.ones(9)[None, :] + (x**2)[None, :]
    g0, g1 = xd.gradient(backend.asarray(f), y[1] - y[0], x, accuracy=4, periodic=[True, False])
    g0 = backend.check(g0, dtype=np.float64, shape=f.shape)
    g1 = backend.check(g1, dtype=np.float64, shape=f.shape)
    expected0 = xd.gradient(np.sin(y), y[1] - y[0], accuracy=4, periodic=True)
    np.testing.assert_allclose(g0, np.broadcast_to(expected0[:, None], f.shape), atol=1e-14)
    np.testing.assert_allclose(g1, np.broadcast_to(2 * x, f.shape), atol=1e-10)
    # periodic on one axis leaves numpy.gradient's formulas on the other
    _, h1 = xd.gradient(backend.asarray(f), 1.0, x, periodic=(True, False))
    assert_gradient_equal(backend, h1, np.gradient(f, 1.0, x)[1])


# --- agreement with findiff where findiff is right ------------------------------------


@pytest.mark.parametrize("n", ORDERS)
@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_agrees_with_findiff_interior(n, accuracy):
    findiff = pytest.importorskip("findiff")
    x = np.linspace(0.0, 1.0, 40)
    f = np.sin(3 * x)
    theirs = (findiff.Diff(0, x[1] - x[0], acc=accuracy) ** n)(f)
    ours = xd.gradient(f, x[1] - x[0], n=n, accuracy=accuracy)
    reach = accuracy // 2 + (n + 1) // 2 + 1
    np.testing.assert_allclose(ours[reach:-reach], theirs[reach:-reach], rtol=1e-9, atol=1e-9)
    # at the edges both are O(h**p); xpdiff's windows are never less accurate here
    exact = exact_sin3(x, n)
    assert np.max(np.abs(ours - exact)) <= 1.0001 * np.max(np.abs(theirs - exact))


@pytest.mark.parametrize(("n", "accuracy"), [(1, 2), (1, 4), (2, 2), (2, 4), (3, 2)])
def test_agrees_with_findiff_nonuniform(n, accuracy):
    findiff = pytest.importorskip("findiff")
    rng = np.random.default_rng(5)
    u = np.linspace(0.0, 1.0, 60)
    x = u + rng.uniform(-0.3, 0.3, 60) * (u[1] - u[0])
    x[0], x[-1] = 0.0, 1.0
    f = np.sin(3 * x)
    theirs = (findiff.Diff(0, x, acc=accuracy) ** n)(f)
    ours = xd.gradient(f, x, n=n, accuracy=accuracy)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-7 * 3**n)


# --- dtypes, devices, laziness ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "coords", "out"),
    [
        (np.float32, None, np.float32),
        (np.float64, None, np.float64),
        (np.int32, None, np.float64),
        (np.uint8, None, np.float64),
        (np.complex64, None, np.complex64),
        (np.complex128, None, np.complex128),
        (np.float32, np.float64, np.float32),
        (np.float16, None, np.float16),
    ],
)
def test_dtype_rules(backend, data, coords, out):
    if not backend.supports(data):
        pytest.skip(f"{backend.name} has no {np.dtype(data).name}")
    x = np.linspace(0.0, 1.0, 40)
    values = 5 * np.sin(3 * x) + 10
    if np.dtype(data).kind == "c":
        values = values * (1 + 0.5j)
    given = values.astype(data)
    spacing = (x[1] - x[0]) if coords is None else x.astype(coords)
    res = xd.gradient(backend.asarray(given), spacing, n=2, accuracy=4)
    got = backend.check(res, dtype=out, shape=x.shape)
    # the same stencils in float64 on the same (rounded) input
    wide = np.complex128 if np.dtype(data).kind == "c" else np.float64
    reference = xd.gradient(given.astype(wide), spacing, n=2, accuracy=4)
    # float16/float32/complex64 data is combined in float32, unless typed float64
    # coordinates promote it; integer data becomes float64 first
    kind = np.dtype(data)
    wide = coords == np.float64 or kind in (np.float64, np.complex128) or kind.kind in "iu"
    work_eps = np.finfo(np.float64 if wide else np.float32).eps
    out_eps = np.finfo(out).eps if np.dtype(out).kind in "fc" else 0.0
    scale = np.max(np.abs(reference))
    tol = 100 * work_eps * np.max(np.abs(values)) / (x[1] - x[0]) ** 2 + 2 * out_eps * scale
    np.testing.assert_allclose(got, reference.astype(out), rtol=0, atol=tol)


def test_dask_high_order_stays_lazy():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(4)
    f = rng.random((30, 40))
    x = np.cumsum(rng.random(40))
    fb = da.from_array(f, chunks=(10, 10))
    with dask_must_not_compute():
        res = xd.gradient(fb, 0.5, x, n=2, accuracy=4, periodic=[True, False])
    assert all(r.chunks == fb.chunks for r in res)
    expected = xd.gradient(f, 0.5, x, n=2, accuracy=4, periodic=[True, False])
    for r, e in zip(res, expected, strict=True):
        np.testing.assert_array_equal(r.compute(), e)


def test_inputs_not_modified_high_order(backend):
    rng = np.random.default_rng(6)
    f = rng.random((9, 10))
    x = np.cumsum(rng.random(11))
    fb, xb = backend.asarray(f), backend.asarray(x)
    xd.gradient(fb, 1.0, xb, n=2, accuracy=4, periodic=[False, True])
    np.testing.assert_array_equal(backend.to_numpy(fb), f)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"accuracy": 3}, ValueError, "accuracy must be an even integer >= 2.*got 3"),
        ({"accuracy": 0}, ValueError, "accuracy must be an even integer >= 2"),
        ({"accuracy": 4.0}, TypeError, "accuracy must be an even integer >= 2.*float"),
        ({"accuracy": True}, TypeError, "accuracy must be an even integer >= 2.*bool"),
        ({"accuracy": "4"}, TypeError, "accuracy must be an even integer >= 2.*str"),
        ({"n": 0}, ValueError, r"n \(the derivative order\) must be an integer >= 1, got 0"),
        ({"n": 1.5}, TypeError, r"n \(the derivative order\) must be an integer >= 1"),
        ({"n": 2.0}, TypeError, r"n \(the derivative order\) must be an integer >= 1.*float"),
        ({"accuracy": 4, "edge_order": 2}, ValueError, "edge_order=2 conflicts with accuracy=4"),
        ({"accuracy": 2, "edge_order": 1}, ValueError, "edge_order=1 conflicts with accuracy=2"),
        ({"n": 2, "edge_order": 1}, ValueError, "edge_order=1 .* is for first derivatives"),
        ({"periodic": [True]}, ValueError, "one bool per axis"),
        ({"periodic": "yes"}, TypeError, "periodic must be a bool or a sequence of bools"),
        (
            {"accuracy": 8},
            ValueError,
            "axis 0 has 6 points, but the stencil of n=1 with accuracy=8 needs at least 9",
        ),
        (
            {"n": 2, "accuracy": 6, "periodic": True},
            ValueError,
            "axis 0 has 6 points, but the periodic stencil of n=2 with accuracy=6 needs "
            "at least 7",
        ),
    ],
)
def test_errors(backend, kwargs, exc, match):
    f = backend.asarray(np.arange(36.0).reshape(6, 6))
    with pytest.raises(exc, match=match):
        xd.gradient(f, **kwargs)


def test_periodic_coordinates_of_wrong_length(backend):
    f = backend.asarray(np.arange(6.0))
    with pytest.raises(ValueError, match=r"must have 6 entries .* or 7"):
        xd.gradient(f, np.arange(8.0), periodic=True)


def test_numpy_only_types_refuse_new_options():
    t = np.arange(5).astype("timedelta64[D]")
    with pytest.raises(TypeError, match="n, accuracy and periodic need plain numeric arrays"):
        xd.gradient(t, n=2)
    np.testing.assert_array_equal(xd.gradient(t, accuracy=2), np.gradient(t, edge_order=2))


def test_plans_of_coordinates_kept_only_for_equal_coordinates():
    """The plan of non-uniform coordinates is kept with a copy of them and taken again
    only for coordinates equal to the bit: changed values in the same array are new data."""
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.uniform(0.5, 1.5, 300))
    f = np.sin(x / 10)
    first = xd.gradient(f, x, n=2, accuracy=4)
    np.testing.assert_array_equal(xd.gradient(f, x, n=2, accuracy=4), first)  # kept plan
    np.testing.assert_array_equal(xd.gradient(f, x.copy(), n=2, accuracy=4), first)
    x[150] += 0.25  # the same array object, one coordinate moved
    moved = xd.gradient(f, x, n=2, accuracy=4)
    fresh = xd.gradient(f, x.copy(), n=2, accuracy=4)
    np.testing.assert_array_equal(moved, fresh)
    assert not np.array_equal(moved[140:160], first[140:160])
    closed = np.append(x, x[0] + x[-1] + 1.0)
    periodic = xd.gradient(f, closed, accuracy=4, periodic=True)
    closed[-1] += 1.0  # another period
    assert not np.array_equal(xd.gradient(f, closed, accuracy=4, periodic=True), periodic)


def test_kept_coordinate_plans_are_bounded():
    """Weights kept for every row are bounded: a long axis's plan is not kept."""
    from xpdiff._array import planner

    rng = np.random.default_rng(6)
    long_axis = np.cumsum(rng.uniform(0.5, 1.5, planner.MAX_KEPT_WEIGHTS // 4))
    planner._PLANS.clear()
    xd.gradient(np.sin(long_axis), long_axis, accuracy=4)
    assert all(kept is None for kept, _ in planner._PLANS.values())
    for accuracy in range(2, 2 + 2 * (planner.MAX_COORDINATE_PLANS + 3), 2):
        x = np.cumsum(rng.uniform(0.5, 1.5, 200))
        np.testing.assert_array_equal(
            xd.gradient(np.sin(x), x, n=2, accuracy=accuracy),
            xd.gradient(np.sin(x), x.copy(), n=2, accuracy=accuracy),
        )
    kept = sum(kept is not None for kept, _ in planner._PLANS.values())
    assert 0 < kept <= planner.MAX_COORDINATE_PLANS


def test_fd_weights_takes_a_zero_dimensional_x0_and_says_the_order_in_words():
    np.testing.assert_array_equal(
        xd.fd_weights([0.0, 1.0, 2.0], 1, np.array(0.5)), xd.fd_weights([0.0, 1.0, 2.0], 1, 0.5)
    )
    for n, word in ((1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (21, "21st")):
        with pytest.raises(ValueError, match=f"the {word} derivative needs at least"):
            xd.fd_weights(np.arange(float(n)), n)
