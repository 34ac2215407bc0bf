"""Array mode's plans and executors: the NumPy executor equals the generic one, refusals."""

from __future__ import annotations

import numpy as np
import pytest

import xpdiff as xd
from xpdiff._array import executors as _executors
from xpdiff._array import plans as _plans
from xpdiff._numerics import stencils as _stencils

CASES = [
    ({"accuracy": 4}, None),
    ({"accuracy": 6, "n": 2}, None),
    ({"accuracy": 4, "periodic": True}, None),
    ({"n": 3, "accuracy": 2}, None),
    ({"accuracy": 4}, "nonuniform"),
    ({"accuracy": 6, "n": 2}, "nonuniform"),
    ({"accuracy": 4, "periodic": True}, "nonuniform"),
    ({"edge_order": 2}, "nonuniform"),
    ({}, "uniform coordinates"),
]


def _coordinates(rng, length, kind):
    if kind == "nonuniform":
        return np.cumsum(rng.uniform(0.5, 1.5, length))
    return np.arange(length) * 0.25


@pytest.mark.parametrize(("kwargs", "coords"), CASES)
@pytest.mark.parametrize("shape", [(40,), (9, 17), (9, 10, 11)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_numpy_executor_equals_generic_executor(kwargs, coords, shape, dtype):
    """NumPy's blocked ufunc executor and the generic one (array-api-strict) agree bit for bit."""
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(abs(hash((str(kwargs), coords, shape))) % 2**32)
    f = rng.normal(size=shape).astype(dtype)
    if dtype == np.complex128:
        f = f + 1j * rng.normal(size=shape)
    for axis in range(len(shape)):
        varargs = () if coords is None else (_coordinates(rng, shape[axis], coords),)
        if coords == "nonuniform" and kwargs.get("periodic"):
            varargs = (np.append(varargs[0], varargs[0][-1] + 1.0),)  # the closing coordinate
        ours = xd.gradient(f, *varargs, axis=axis, **kwargs)
        generic = xd.gradient(xps.asarray(f), *varargs, axis=axis, **kwargs)
        np.testing.assert_array_equal(ours, np.asarray(generic), strict=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex64])
def test_edge_rows_computed_together_keep_each_rows_bits(dtype, monkeypatch):
    """Single-row edge regions of one shape are computed together, bit for bit as alone."""
    from xpdiff._array.executors import numpy as numpy_executor

    rng = np.random.default_rng(5)
    f = (rng.normal(size=(30, 7)) * np.exp(rng.uniform(-20, 20, (30, 7)))).astype(dtype)
    f[0, 1], f[1, 2], f[-1, 3], f[-2, 4] = np.inf, np.nan, -np.inf, -0.0
    grouped = []
    rows_into = numpy_executor._rows_into
    monkeypatch.setattr(
        numpy_executor, "_rows_into", lambda *args: grouped.append(rows_into(*args))
    )
    for axis, n in ((0, 1), (1, 2), (0, 3)):
        x = np.cumsum(rng.uniform(0.5, 1.5, f.shape[axis]))
        with np.errstate(invalid="ignore"):
            together = xd.gradient(f, x, axis=axis, n=n, accuracy=4)
            assert grouped, "the edge rows of a non-uniform grid are computed in groups"
            grouped.clear()
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(numpy_executor, "_row_groups", lambda plan: [])
                each = xd.gradient(f, x, axis=axis, n=n, accuracy=4)
            assert not grouped
        np.testing.assert_array_equal(together.view(np.uint8), each.view(np.uint8))


def test_executor_choice():
    xps = pytest.importorskip("array_api_strict")
    from xpdiff import _backend

    xp, f = _backend.array_namespace(np.ones(3))
    assert _executors.executor_for(xp, f).__name__.endswith(".numpy")
    xp, f = _backend.array_namespace(xps.ones(3))
    assert _executors.executor_for(xp, f).__name__.endswith(".generic")


def test_blocks_cover_long_and_wide_arrays():
    """More than one block along each path: the flat one, axis 0, and a later axis."""
    rng = np.random.default_rng(3)
    block = _executors._numpy.BLOCK_ELEMENTS
    f1 = rng.normal(size=3 * block + 5)
    np.testing.assert_array_equal(xd.gradient(f1), np.gradient(f1))
    x1 = np.cumsum(rng.uniform(0.5, 1.5, f1.shape[0]))
    np.testing.assert_array_equal(
        xd.gradient(f1, x1, edge_order=2), np.gradient(f1, x1, edge_order=2)
    )
    f2 = rng.normal(size=(300, 700))
    x2 = np.cumsum(rng.uniform(0.5, 1.5, 700))
    np.testing.assert_array_equal(xd.gradient(f2, 1.0, x2), np.gradient(f2, 1.0, x2))
    f_t = np.asfortranarray(f2)  # not C-contiguous: the strided path only
    np.testing.assert_array_equal(xd.gradient(f_t), np.gradient(f_t))


def test_plans_are_host_side():
    plan = _stencils.stencil_plan(1, 4, True)
    assert (plan.size, plan.left, plan.edge_size) == (5, 2, 5)
    region = _plans.pairs_region(2, 10, [1.0, -8.0, 0.0, 8.0, -1.0], 2, 1)
    assert region.kind == "pairs"
    assert region.sign == -1
    assert [t.start for t in region.terms] == [3, 1, 4, 0]


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("accuracy", "n"), [(56, 1), (40, 1), (30, 2)])
def test_ill_conditioned_edges_are_refused(accuracy, n):
    f = np.sin(np.linspace(0, 2 * np.pi, 60))
    with pytest.raises(ValueError, match=r"amplify rounding errors .* use accuracy <= \d+"):
        xd.gradient(f, accuracy=accuracy, n=n)
    # periodic axes have no one-sided stencils
    t = np.arange(60) * 2 * np.pi / 60
    g = xd.gradient(np.sin(t), t[1], accuracy=min(accuracy, 58), n=n, periodic=True)
    exact = np.cos(t) if n == 1 else -np.sin(t)
    np.testing.assert_allclose(g, exact, atol=1e-9)


def test_the_largest_allowed_accuracy_is_better_than_a_low_one():
    """What the refusal leaves allowed is not worse at the edges than accuracy=4."""
    x = np.linspace(0, 2 * np.pi, 60)
    f = np.sin(x)
    with pytest.raises(ValueError, match="use accuracy <=") as info:
        xd.gradient(f, x[1], accuracy=56)
    allowed = int(str(info.value).split("use accuracy <= ")[1].split(",")[0])
    best = np.max(np.abs(xd.gradient(f, x[1], accuracy=allowed) - np.cos(x)))
    low = np.max(np.abs(xd.gradient(f, x[1], accuracy=4) - np.cos(x)))
    assert best < low


@pytest.mark.parametrize("spacing", ["a", None, object(), b"1"])
def test_spacing_of_the_wrong_type(spacing):
    with pytest.raises(TypeError, match="spacing must be a real number, or 1-d coordinates"):
        xd.gradient(np.arange(5.0), spacing)


def test_closed_periodic_coordinates_must_advance(backend):
    f = backend.asarray(np.sin(np.arange(6.0)))
    coords = np.array([0.0, 1.0, 2.5, 3.0, 4.5, 5.0, 0.0])  # 7 entries: the last is x0 + period
    with pytest.raises(ValueError, match="must be greater than the first"):
        xd.gradient(f, coords, periodic=True)
    with pytest.raises(ValueError, match="must be greater than the first"):
        xd.gradient(f, backend.asarray(coords), periodic=True)
    good = xd.gradient(f, np.append(coords[:-1], 6.0), periodic=True)
    assert np.isfinite(backend.to_numpy(good)).all()


# --- backends --------------------------------------------------------------------------------


def test_jax_jit_with_coordinates():
    """Traced coordinates have no values to check: they are taken as non-uniform."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x = np.cumsum(np.random.default_rng(2).uniform(0.5, 1.5, 12))
    f = np.sin(x)

    @jax.jit
    def derivative(values, coords):
        return xd.gradient(values, coords, edge_order=2)

    got = np.asarray(derivative(jnp.asarray(f), jnp.asarray(x)))
    np.testing.assert_allclose(got, np.gradient(f, x, edge_order=2), rtol=1e-12)
    uniform = np.arange(12.0) * 0.5  # uniform, but traced: the non-uniform formula, same values
    got = np.asarray(derivative(jnp.asarray(f), jnp.asarray(uniform)))
    np.testing.assert_allclose(got, np.gradient(f, uniform, edge_order=2), rtol=1e-12)
    high = jax.jit(lambda v, c: xd.gradient(v, c, accuracy=4))(jnp.asarray(f), jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(high), xd.gradient(f, x, accuracy=4), rtol=1e-10)


def test_torch_parity_fuzz():
    """Bit for bit with numpy.gradient on PyTorch, except float16: 1 unit in the last place.

    PyTorch converts float64 to float16 through float32, which rounds twice: a
    float16 result computed in float64 (a typed float64 spacing) can land one
    float16 unit away from NumPy's single rounding.
    """
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    spacings = [0.5, np.float32(0.3), np.float64(0.7), np.float16(0.25)]
    for _ in range(400):
        length = int(rng.integers(3, 9))
        dtype = [np.float16, np.float32, np.float64][int(rng.integers(0, 3))]
        f = rng.normal(size=length).astype(dtype)
        h = spacings[int(rng.integers(0, len(spacings)))]
        edge_order = int(rng.integers(1, 3))
        coords = np.cumsum(rng.uniform(0.5, 1.5, length)) if rng.random() < 0.3 else None
        args = (h,) if coords is None else (coords,)
        expected = np.gradient(f, *args, edge_order=edge_order)
        got = xd.gradient(torch.asarray(f.copy()), *args, edge_order=edge_order).numpy()
        assert got.dtype == expected.dtype
        if dtype == np.float16:
            ulp = np.spacing(np.abs(expected).astype(np.float16))
            assert np.all(np.abs(got.astype(np.float64) - expected) <= ulp.astype(np.float64))
        else:
            np.testing.assert_array_equal(got, expected)
