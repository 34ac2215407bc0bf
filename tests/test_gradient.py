"""xpdiff.gradient against numpy.gradient: parity by Hypothesis, errors, backends."""

from __future__ import annotations

import warnings

import array_api_compat
import numpy as np
import pytest
from helpers import assert_gradient_equal, dask_must_not_compute
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.exceptions import AxisError

import xpdiff as xd

NUMERIC_DTYPES = [
    np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64,
    np.complex64, np.complex128,
]  # fmt: skip

COORD_DTYPES = [np.float64, np.float32, np.int64, np.uint8]


def _data(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if dtype.kind == "c":
        return (rng.uniform(-50, 50, shape) + 1j * rng.uniform(-50, 50, shape)).astype(dtype)
    return rng.uniform(-50, 50, shape).astype(dtype)


@st.composite
def gradient_cases(draw):
    """A random numpy.gradient call: f, varargs (as plans), axis and edge_order."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(3, 6), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(NUMERIC_DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    edge_order = draw(st.sampled_from([1, 2]))

    axis_form = draw(st.sampled_from(["none", "int", "negative", "tuple"]))
    if axis_form == "none":
        axis, axes = None, tuple(range(ndim))
    elif axis_form in ("int", "negative"):
        a = draw(st.integers(0, ndim - 1))
        axis, axes = (a - ndim if axis_form == "negative" else a), (a,)
    else:
        axes = tuple(draw(st.permutations(range(ndim)))[: draw(st.integers(1, ndim))])
        axis = axes

    spacing_form = draw(st.sampled_from(["none", "one scalar", "per axis"]))
    plans = []
    if spacing_form == "one scalar":
        plans = [
            (
                "scalar",
                draw(st.sampled_from(["py float", "py int", "np float32", "np float64", "0-d"])),
                draw(st.sampled_from([0.5, 1.0, 2.0, 0.1])),
            )
        ]
    elif spacing_form == "per axis":
        for ax in axes:
            kind = draw(st.sampled_from(["scalar", "uniform", "nonuniform"]))
            if kind == "scalar":
                plans.append(
                    (
                        "scalar",
                        draw(st.sampled_from(["py float", "py int", "np float32", "0-d"])),
                        draw(st.sampled_from([0.5, 3.0, 0.1])),
                    )
                )
            else:
                plans.append(
                    (
                        kind,
                        draw(st.sampled_from(COORD_DTYPES)),
                        draw(st.sampled_from(["numpy", "list", "backend"])),
                        shape[ax],
                    )
                )
    return shape, dtype, seed, edge_order, axis, plans


def _make_varargs(backend, rng, plans):
    """Return (numpy varargs, backend varargs) for the plans."""
    np_args, xp_args = [], []
    for plan in plans:
        if plan[0] == "scalar":
            _, form, value = plan
            value = {
                "py float": float(value),
                "py int": max(1, int(value)),
                "np float32": np.float32(value),
                "np float64": np.float64(value),
                "0-d": np.array(value),
            }[form]
            np_args.append(value)
            xp_args.append(value)
            continue
        kind, dtype, container, length = plan
        if kind == "uniform":
            coords = np.arange(length) * (3 if np.dtype(dtype).kind in "iu" else 0.25)
        else:
            coords = np.cumsum(rng.integers(1, 9, length)) * (
                1 if np.dtype(dtype).kind in "iu" else 0.125 * rng.uniform(0.5, 2)
            )
        coords = coords.astype(dtype)
        if container == "list":
            # numpy.gradient sees the same list, so the same float64 coordinates
            np_args.append(coords.tolist())
            xp_args.append(coords.tolist())
        elif container == "backend" and backend.supports(dtype):
            np_args.append(coords)
            xp_args.append(backend.asarray(coords))
        else:
            np_args.append(coords)
            xp_args.append(coords)
    return np_args, xp_args


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=gradient_cases())
def test_parity_with_numpy(backend, case):
    shape, dtype, seed, edge_order, axis, plans = case
    assume(backend.supports(dtype))  # array-api-strict has no float16
    rng = np.random.default_rng(seed)
    f = _data(rng, shape, dtype)
    np_args, xp_args = _make_varargs(backend, rng, plans)
    expected = np.gradient(f, *np_args, axis=axis, edge_order=edge_order)
    result = xd.gradient(backend.asarray(f), *xp_args, axis=axis, edge_order=edge_order)
    assert_gradient_equal(backend, result, expected)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 12),
    coeffs=st.lists(st.floats(-10, 10), min_size=3, max_size=3),
)
def test_edge_order_2_exact_on_quadratics(backend, seed, n, coeffs):
    """Second-order formulas differentiate quadratics exactly on random grids."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3, 3, n))
    assume(np.min(np.diff(x)) >= 1e-3)
    c0, c1, c2 = coeffs
    f = c0 + c1 * x + c2 * x**2
    exact = c1 + 2 * c2 * x
    res = backend.check(
        xd.gradient(backend.asarray(f), backend.asarray(x), edge_order=2),
        dtype=np.float64,
        shape=(n,),
    )
    scale = 1 + np.max(np.abs(f)) / np.min(np.diff(x))
    np.testing.assert_allclose(res, exact, rtol=0, atol=1e-12 * scale)


def test_zero_dimensional(backend):
    f = backend.asarray(np.array(3.0))
    assert xd.gradient(f) == () == np.gradient(np.array(3.0))
    assert xd.gradient(f, 2.0) == ()
    with pytest.raises(TypeError, match="invalid number of arguments"):
        xd.gradient(f, [1.0, 2.0])


def test_float32_with_float64_coordinates_stays_float32(backend):
    rng = np.random.default_rng(1)
    f = rng.random(7).astype(np.float32)
    x = np.cumsum(rng.random(7))
    expected = np.gradient(f, x)
    assert expected.dtype == np.float32
    assert_gradient_equal(backend, xd.gradient(backend.asarray(f), x), expected)
    assert_gradient_equal(backend, xd.gradient(backend.asarray(f), backend.asarray(x)), expected)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_coordinates_in_any_container(backend, edge_order):
    """Lists, NumPy arrays and the backend's own arrays give the same result."""
    rng = np.random.default_rng(2)
    f = rng.random((5, 6))
    x0 = np.cumsum(rng.random(5))
    x1 = np.linspace(0, 1, 6)
    expected = np.gradient(f, x0, x1, edge_order=edge_order)
    fb = backend.asarray(f)
    for c0, c1 in [
        (x0, x1),
        (x0.tolist(), x1.tolist()),
        (backend.asarray(x0), backend.asarray(x1)),
        (tuple(x0), backend.asarray(x1)),
    ]:
        assert_gradient_equal(backend, xd.gradient(fb, c0, c1, edge_order=edge_order), expected)


def test_kept_coordinates_remember_their_dtype():
    """float32 coordinates and the same values as a list (float64 to numpy) are computed in
    their own dtypes, whichever came first (a kept plan was taken for both)."""
    rng = np.random.default_rng(4)
    f = rng.standard_normal((6, 5)).astype(np.float32)
    x0 = (np.cumsum(rng.integers(1, 9, 6)) * 0.137).astype(np.float32)
    x1 = [0.0, 1.0, 2.5, 3.0, 4.5]  # a list: the general path, whose plans are kept
    for first, second in [(x0, x0.tolist()), (x0.tolist(), x0)]:
        for coords in (first, second):
            expected = np.gradient(f, coords, x1)
            for got, want in zip(xd.gradient(f, coords, x1), expected, strict=True):
                np.testing.assert_array_equal(got, want, strict=True)
        assert not np.array_equal(np.gradient(f, x0, x1)[0], np.gradient(f, x0.tolist(), x1)[0])


def test_inputs_not_modified(backend):
    rng = np.random.default_rng(3)
    f = rng.random((4, 5))
    x = np.cumsum(rng.random(5))
    fb, xb = backend.asarray(f), backend.asarray(x)
    xd.gradient(fb, 1.0, xb, edge_order=2)
    np.testing.assert_array_equal(backend.to_numpy(fb), f)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


# --- errors: numpy's types and messages, and strictness where numpy is sloppy ---


def _raises_like_numpy(call_xd, call_np, exc):
    with pytest.raises(exc) as np_info:
        call_np()
    with pytest.raises(exc) as xd_info:
        call_xd()
    assert type(xd_info.value) is type(np_info.value)
    assert str(xd_info.value) == str(np_info.value)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc"),
    [
        ((np.ones(5), np.ones(2)), {}, ValueError),
        ((1, np.ones(2)), {}, ValueError),
        ((np.ones((5, 2)), 1), {}, ValueError),
        ((np.ones(5),), {}, TypeError),
        ((1, 1, 1), {}, TypeError),
        ((1, 1), {"axis": 1}, TypeError),
        ((), {"axis": 2}, AxisError),
        ((), {"axis": -3}, AxisError),
        ((), {"axis": (0, 0)}, ValueError),
        ((), {"axis": (1, -1)}, ValueError),
        ((), {"axis": 1.5}, TypeError),
        ((), {"edge_order": 3}, ValueError),
    ],
)
def test_errors_match_numpy(backend, args, kwargs, exc):
    f = np.arange(25.0).reshape(5, 5)
    fb = backend.asarray(f)
    _raises_like_numpy(
        lambda: xd.gradient(fb, *args, **kwargs), lambda: np.gradient(f, *args, **kwargs), exc
    )


def test_too_small_matches_numpy(backend):
    for n, edge_order in [(1, 1), (2, 2), (0, 1)]:
        f = np.arange(float(n))
        _raises_like_numpy(
            lambda f=f, e=edge_order: xd.gradient(backend.asarray(f), edge_order=e),
            lambda f=f, e=edge_order: np.gradient(f, edge_order=e),
            ValueError,
        )


@pytest.mark.parametrize(
    ("edge_order", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (1.5, TypeError),
        (2.0, TypeError),
        (True, TypeError),
        ("2", TypeError),
    ],
)
def test_edge_order_is_strict(backend, edge_order, error):
    """numpy treats 0 and 1.5 as 2; xpdiff accepts only the integers 1 and 2: a value of
    the wrong type is a TypeError, a wrong integer a ValueError."""
    f = backend.asarray(np.arange(5.0))
    with pytest.raises(error, match="edge_order must be"):
        xd.gradient(f, edge_order=edge_order)
    with pytest.raises(error, match="edge_order must be"):
        xd.gradient(np.arange(5).astype("datetime64[D]"), edge_order=edge_order)


def test_edge_order_numpy_integer_accepted(backend):
    f = np.arange(5.0) ** 2
    assert_gradient_equal(
        backend,
        xd.gradient(backend.asarray(f), edge_order=np.int64(2)),
        np.gradient(f, edge_order=2),
    )


@pytest.mark.parametrize(
    "spacing",
    [1j, True, np.array([1j, 2j, 3j]), np.array([True, False, True]), np.array(["a", "b", "c"])],
)
def test_spacing_must_be_real(backend, spacing):
    with pytest.raises(TypeError, match="spacing must be real"):
        xd.gradient(backend.asarray(np.arange(3.0)), spacing)


def test_bool_and_object_data_refused():
    with pytest.raises(TypeError, match="gradient needs numeric data: f has dtype bool"):
        xd.gradient(np.array([True, False, True]))
    with pytest.raises(TypeError, match="gradient needs numeric data"):
        xd.gradient(np.array([1, 2, 3], dtype=object))


def test_short_coordinates_are_a_clear_error(backend):
    # numpy raises an IndexError from inside its uniformity check here
    with pytest.raises(ValueError, match=r"at least \(edge_order \+ 1\) elements"):
        xd.gradient(backend.asarray(np.array([1.0])), [0.0])


# --- libraries: no mixing, laziness, devices ---


def test_mixing_libraries_is_a_type_error(backend):
    other = None
    if backend.name != "array_api_strict":
        import array_api_strict

        other = array_api_strict.asarray([0.0, 1.0, 2.0])
        other_name = "array_api_strict"
    else:
        torch = pytest.importorskip("torch")
        other = torch.asarray([0.0, 1.0, 2.0])
        other_name = "torch"
    f = backend.asarray(np.arange(3.0))
    f_name = backend.module.__name__.split(".")[0]
    with pytest.raises(
        TypeError, match=f"f is a {f_name} array but a spacing is a {other_name} array"
    ):
        xd.gradient(f, other)


def test_dask_stays_lazy():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(4)
    f = rng.random((40, 30))
    x = np.cumsum(rng.random(30))
    fb = da.from_array(f, chunks=(10, 10))
    with dask_must_not_compute():
        res = xd.gradient(fb, 0.5, x, edge_order=2)
    assert all(isinstance(r, da.Array) for r in res)
    assert all(r.chunks == fb.chunks for r in res), "chunks of f are kept"
    expected = np.gradient(f, 0.5, x, edge_order=2)
    for r, e in zip(res, expected, strict=True):
        np.testing.assert_array_equal(r.compute(), e)


def test_array_api_strict_device_kept():
    xps = pytest.importorskip("array_api_strict")
    dev = xps.Device("device1")
    f = xps.asarray(np.linspace(0, 1, 6) ** 2, device=dev)
    for coords in (
        np.linspace(0, 1, 6),
        [0, 1, 2, 4, 5, 9],
        xps.asarray(np.cumsum(np.arange(1.0, 7.0)), device=dev),
    ):
        res = xd.gradient(f, coords)
        assert array_api_compat.device(res) == dev


def test_jax_jit_with_scalar_spacing():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f = np.linspace(0, 2, 9) ** 3
    jitted = jax.jit(lambda a: xd.gradient(a, 0.25, edge_order=2))
    np.testing.assert_array_equal(
        np.asarray(jitted(jax.numpy.asarray(f))), np.gradient(f, 0.25, edge_order=2)
    )


@pytest.mark.parametrize("step", [5, 0.3, 7.1])
@pytest.mark.parametrize("container", ["numpy", "backend"])
def test_edge_order_2_on_evenly_spaced_coordinates_to_the_bit(backend, step, container):
    """Coordinates found uniform take numpy's ``-1.5 / h`` edge weights, rounded once.

    PyTorch computes ``number / tensor`` as ``number * (1 / tensor)``; a Hypothesis
    case with coordinates 6, 11, 16 caught the extra rounding in the edge rows.
    """
    f = np.random.default_rng(2575).integers(-128, 127, size=(3, 4), dtype=np.int8)
    coords = np.array([6.0, 6.0 + step, 6.0 + 2 * step])
    assert (np.diff(coords) == np.diff(coords)[0]).all()
    given = backend.asarray(coords) if container == "backend" else coords
    expected = np.gradient(f, coords, axis=0, edge_order=2)
    assert_gradient_equal(
        backend, xd.gradient(backend.asarray(f), given, axis=0, edge_order=2), expected
    )


@pytest.mark.parametrize("step", [0.1, 0.3, 1.3])
def test_float16_with_a_python_float_spacing_to_the_bit(backend, step):
    """A Python float meets float16 data as a float16, as in NumPy (weak scalars).

    PyTorch keeps the number in float32 for float16 arithmetic: ``f / 0.1``
    then rounds differently (a Hypothesis case: 12.57, -13.21, 64.06 gave
    -257.75 where numpy.gradient gives -258).
    """
    if not backend.supports(np.float16):
        pytest.skip("array_api_strict has no float16")
    f = (np.random.default_rng(7).standard_normal(40) * 100).astype(np.float16)
    f[:3] = [12.57, -13.21, 64.06]
    for edge_order in (1, 2):
        expected = np.gradient(f, step, edge_order=edge_order)
        assert_gradient_equal(
            backend, xd.gradient(backend.asarray(f), step, edge_order=edge_order), expected
        )
    g = (f / 128).astype(np.float16)  # n = 2 divides by step**2: keep within float16
    higher = xd.gradient(g, step, accuracy=4, n=2)  # plans with weak weights: NumPy's bits
    assert_gradient_equal(backend, xd.gradient(backend.asarray(g), step, accuracy=4, n=2), higher)


# --- complex spacing, open periodic coordinates, functions given as data (issues 21, 24) ---

_CRNG = np.random.default_rng(21)
_CF = _CRNG.standard_normal((6, 7)) + 1j * _CRNG.standard_normal((6, 7))
_CX = np.cumsum(_CRNG.uniform(0.5, 1.5, 6)) * (1 + 0.5j)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0.5j,), {}),
        ((1 + 2j,), {"edge_order": 2}),
        ((np.complex128(0.5 + 1j),), {}),
        ((_CX, 1j), {}),
        ((_CX, 0.5), {"edge_order": 2}),
        ((np.arange(6) * (0.5 + 0.25j), 2), {"edge_order": 2}),
    ],
)
def test_complex_spacing_with_complex_data_is_numpys(backend, args, kwargs):
    """numpy.gradient takes complex spacings for complex data; so does xpdiff, with its
    results (to the bit on NumPy, whose formulas and rounding it repeats)."""
    expected = np.gradient(_CF, *args, **kwargs)
    moved = [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    got = xd.gradient(backend.asarray(_CF), *moved, **kwargs)
    for e, g in zip(expected, got, strict=True):
        values = backend.check(g, dtype=np.complex128, shape=_CF.shape)
        if backend.name.startswith("numpy"):
            np.testing.assert_array_equal(values, e)
        else:
            np.testing.assert_allclose(values, e, rtol=1e-13)


def test_complex_spacing_is_refused_for_real_data_and_beyond_numpys_formulas(backend):
    """numpy.gradient drops the imaginary part of a complex spacing for real data (with a
    ComplexWarning); xpdiff refuses it, and refuses it where no complex stencil exists."""
    with pytest.raises(TypeError, match="real numbers for real data, got complex"):
        xd.gradient(backend.asarray(np.ones(5)), 1j)
    with pytest.raises(TypeError, match="real numbers for real data, got complex"):
        xd.gradient(backend.asarray(np.ones(5)), backend.asarray(np.arange(5) * 1j))
    with pytest.raises(TypeError, match=r"complex spacing is for numpy\.gradient's formulas"):
        xd.gradient(backend.asarray(_CF), 1j, n=2)
    with pytest.raises(TypeError, match="complex"):
        xd.gradient(backend.asarray(_CF[0]), 1j, periodic=True)


def test_open_non_uniform_periodic_coordinates_are_refused(backend):
    """len(f) non-uniform coordinates leave the period unknown (they gave edge errors of
    0.2-0.3 on sin); the message shows the form with one closing coordinate."""
    x = np.sort(np.random.default_rng(3).uniform(0, 2 * np.pi, 20))
    with pytest.raises(ValueError, match=r"needs 21 of them for 20 points.*np\.append"):
        xd.gradient(backend.asarray(np.sin(x)), backend.asarray(x), periodic=True)
    closed = np.append(x, x[0] + 2 * np.pi)
    got = backend.check(
        xd.gradient(
            backend.asarray(np.sin(x)), backend.asarray(closed), periodic=True, accuracy=4
        ),
        dtype=np.float64,
        shape=(20,),
    )
    assert np.abs(got - np.cos(x)).max() < 0.05
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)  # uniform: len(f) coordinates still work
    got = backend.check(
        xd.gradient(backend.asarray(np.sin(t)), backend.asarray(t), periodic=True),
        dtype=np.float64,
        shape=(20,),
    )
    assert np.abs(got - np.cos(t)).max() < 0.02


@pytest.mark.parametrize(
    "call", [lambda: xd.gradient(np.sin, [1.0, 2.0]), lambda: xd.gradient(lambda x: x**2, 1.0)]
)
def test_a_function_points_to_function_mode(call):
    with pytest.raises(TypeError, match=r"use xpdiff\.grad \(function mode\)"):
        call()


def test_float16_computed_in_float64_is_rounded_once(backend):
    """float16 data with integer coordinates of spacing 3 (numpy.gradient's edges then
    take float64 weights: the formula in float64, rounded to float16 at the end): PyTorch
    and JAX round float64 to float16 through float32, twice, one unit in the last place
    from NumPy at a float16 midpoint (Hypothesis found -7.09375 for -7.09765625)."""
    if not backend.supports(np.float16):
        pytest.skip(f"{backend.name} has no float16")
    coords = np.array([2, 5, 8], dtype=np.int64)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        f = (rng.standard_normal((3, 3, 3, 3)) * 16).astype(np.float16)
        expected = np.gradient(f, coords, axis=0, edge_order=2)
        result = xd.gradient(backend.asarray(f), coords, axis=0, edge_order=2)
        assert_gradient_equal(backend, result, expected)


# --- parity found by trying odd arguments (each failed before its fix) -------------------


@pytest.mark.parametrize(
    "coords",
    [
        [0.0, 0.0, 1.0, 2.0, 3.0, 4.0],  # a repeated first coordinate: a zero edge step
        [0.0, 1.0, 2.0, 3.0, 4.0, 4.0],  # a repeated last one
        [0.0, 1e-200, 2e-200, 1.0, 2.0, 3.0],  # edge steps whose product underflows
        [0, 0, 1, 2, 3, 4],  # integers
    ],
)
def test_zero_edge_steps_are_numpys_inf_and_nan(coords):
    """edge_order=2 with a zero edge step: numpy's float64 scalars give inf and NaN (and
    its warnings); the compiled path's Python floats raised ZeroDivisionError."""
    f = np.arange(6.0) ** 2
    with np.errstate(all="ignore"):
        expected = np.gradient(f, np.array(coords), edge_order=2)
        got = xd.gradient(f, np.array(coords), edge_order=2)
    assert not np.isfinite(expected).all()
    np.testing.assert_array_equal(got, expected)
    with pytest.warns(RuntimeWarning):  # numpy warns too
        xd.gradient(f, np.array(coords), edge_order=2)


def test_a_float_axis_is_refused_after_an_int_axis_was_compiled():
    """1.0 == 1 with equal hashes: the compiled programs' key found the int axis's program
    and a float axis was taken after any call with the int."""
    a = np.arange(12.0).reshape(3, 4) ** 2
    np.testing.assert_array_equal(xd.gradient(a, axis=1), np.gradient(a, axis=1))
    for axis in (1.0, np.float64(1.0), (0, 1.0)):
        with pytest.raises(TypeError) as ours:
            xd.gradient(a, axis=axis)
        with pytest.raises(TypeError) as numpys:
            np.gradient(a, axis=axis)
        assert str(ours.value) == str(numpys.value)
    np.testing.assert_array_equal(xd.gradient(a, axis=np.int64(1)), np.gradient(a, axis=1))


@pytest.mark.parametrize("spacing", [(), (2.0,), (2.0, 3.0)])
def test_no_axis_is_an_empty_tuple(spacing):
    got = xd.gradient(np.ones((3, 4)), *spacing[:1], axis=())
    assert got == np.gradient(np.ones((3, 4)), *spacing[:1], axis=()) == ()


@pytest.mark.parametrize("integer", [np.int8, np.uint8, np.int16, np.uint16, np.int32])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_small_integer_spacing_with_complex64_data_to_the_bit(integer, edge_order):
    """numpy divides edge_order 1's edges by the integer itself: with complex64 data and an
    integer of at most 16 bits the division is complex64's (it was complex128's, one unit
    in the last place off in about half of random arrays)."""
    rng = np.random.default_rng(7)
    step = integer(3)
    for _ in range(20):
        f = (20 * rng.standard_normal(7) + 20j * rng.standard_normal(7)).astype(np.complex64)
        for spacing in (step, np.array(step)):
            expected = np.gradient(f, spacing, edge_order=edge_order)
            got = xd.gradient(f, spacing, edge_order=edge_order)
            assert got.dtype == expected.dtype == np.complex64
            np.testing.assert_array_equal(got, expected)


def test_numpy_only_spacings_get_numpys_results_and_errors():
    """Spacings only numpy.gradient understands go to it with NumPy data: masked
    coordinates (their mask: NaN; the mask was dropped), object and time dtypes, Python
    numbers of other types (Decimal: numpy's TypeError; it was computed)."""
    import decimal
    import fractions

    f = np.array([0.0, 1.0, 4.0, 9.0, 16.0])
    spacings = [
        np.ma.array([0.0, 1.0, 2.0, 3.0, 4.0], mask=[0, 1, 0, 0, 0]),
        np.array([0, 1, 2, 3, 5], dtype=object),
        np.array([1, 2, 4, 5, 9], "m8[s]"),
        np.array(0.5, dtype=object),
        fractions.Fraction(1, 2),
    ]
    with warnings.catch_warnings():  # numpy's: "converting a masked element to nan", ...
        warnings.simplefilter("ignore")
        for spacing in spacings:
            expected = np.gradient(f, spacing)
            got = xd.gradient(f, spacing)
            assert type(got) is type(expected)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
        assert np.isnan(xd.gradient(f, spacings[0])[0])  # the masked coordinate's NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.matrix's
        matrix = np.matrix([0.0, 1, 2, 3, 5])
    for spacing in (decimal.Decimal("0.5"), np.timedelta64(2, "s"), matrix):
        with pytest.raises((TypeError, ValueError)) as numpys:
            np.gradient(f, spacing)
        with pytest.raises(type(numpys.value)) as ours:
            xd.gradient(f, spacing)
        assert str(ours.value) == str(numpys.value)
    with pytest.raises(TypeError, match="a spacing is a MaskedArray, which only numpy"):
        xd.gradient(f, spacings[0], accuracy=4)
    with pytest.raises(TypeError, match="f is a MaskedArray, which only numpy"):
        xd.gradient(np.ma.array(np.arange(6.0)), accuracy=4)


def test_masked_coordinates_with_other_data_are_refused(backend):
    f = backend.asarray(np.arange(5.0))
    if isinstance(f, np.ndarray):
        pytest.skip("NumPy data take numpy.gradient's rules for a mask")
    masked = np.ma.array([0.0, 1.0, 2.0, 3.0, 4.0], mask=[0, 1, 0, 0, 0])
    with pytest.raises(TypeError, match=r"MaskedArray go with NumPy data.*filled"):
        xd.gradient(f, masked)


def test_mixing_message_names_each_allowed_form_once():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as info:
        xd.gradient(np.arange(3.0), torch.asarray([0.0, 1.0, 2.0]))
    assert str(info.value).endswith("give the spacing as a NumPy array, a list or a Python scalar")


def test_jax_jit_periodic_coordinates_that_cannot_be_checked_give_nan():
    """Traced periodic coordinates: N non-uniform ones leave the period unknown (eager:
    a ValueError) and N + 1 whose period is not positive are refused eagerly; under
    jax.jit the values needed to check are unknown, so the result is NaN, not a guessed
    period's numbers. Uniform and closed coordinates keep the eager results."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x = np.array([0.0, 0.3, 1.1, 1.5, 2.6, 3.0, 4.1, 5.2])
    f = np.sin(x)
    closed = np.append(x, x[0] + 2 * np.pi)
    uniform = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
    for options in ({}, {"accuracy": 4}):
        jitted = jax.jit(lambda a, c, options=options: xd.gradient(a, c, periodic=True, **options))
        with pytest.raises(ValueError, match="leave the period unknown"):
            xd.gradient(jnp.asarray(f), jnp.asarray(x), periodic=True, **options)
        assert np.isnan(np.asarray(jitted(jnp.asarray(f), jnp.asarray(x)))).all()
        zero_period = np.append(x, x[0])
        assert np.isnan(np.asarray(jitted(jnp.asarray(f), jnp.asarray(zero_period)))).all()
        np.testing.assert_allclose(
            np.asarray(jitted(jnp.asarray(f), jnp.asarray(closed))),
            xd.gradient(f, closed, periodic=True, **options),
            rtol=1e-12,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            np.asarray(jitted(jnp.asarray(np.sin(uniform)), jnp.asarray(uniform))),
            xd.gradient(np.sin(uniform), uniform, periodic=True, **options),
            rtol=1e-12,
            atol=1e-12,
        )
