"""Function mode's promises under attack: no finite wrong answers, no aliasing, the
user's exceptions intact, errors of the right class, JAX's 32-bit mode."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import CountingFunc
from reference_functions import make

import xpdiff as xd

# --- non-finite function values never become finite derivatives ------------------------------


def test_complex_step_nan_at_one_point_is_nan():
    """complex(nan, 0) has imaginary part 0: it must not pass as a zero derivative."""

    def f(p):
        return np.where(np.abs(p[1].imag) > 0, complex(np.nan, 0), p[0] ** 2 + p[1] ** 3 + p[2])

    g = xd.grad(f, [1.0, 2.0, 3.0], method="complex")
    assert math.isnan(g[1])
    np.testing.assert_allclose(g[[0, 2]], [2.0, 1.0])


def test_complex_step_inf_at_one_point_is_nan():
    def f(p):
        return np.where(np.abs(p[1].imag) > 0, complex(np.inf, 5), p[0] ** 2 + p[1] + p[2])

    g = xd.grad(f, [1.0, 2.0, 3.0], method="complex")
    assert math.isnan(g[1])
    assert np.isfinite(g[[0, 2]]).all()


def test_complex_step_where_func_at_x_is_not_finite_is_nan(backend):
    """log(0 + ih) = log(h) + i pi/2 is finite, but log(0) is not: the complex step gave
    pi / (2 h), 7.07e15, as the derivative of log at 0. Every output whose value at x is
    not finite is NaN (grad, jacobian, jvp, a batch of points); the others are kept."""
    xp = backend.xp

    def f(p):
        return xp.stack([xp.log(p[0, ...]), p[1, ...] ** 2])

    def g(p):
        return xp.log(p[0, ...]) + p[1, ...]

    x = backend.asarray(np.array([0.0, 2.0]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0), where Dask computes it
        grad = backend.check(xd.grad(g, x, method="complex"), dtype=np.float64, shape=(2,))
        J = xd.jacobian(f, x, method="complex")
        J = backend.check(J, dtype=np.float64, shape=(2, 2))
        Jv = xd.jvp(f, x, backend.asarray(np.array([1.0, 1.0])), method="complex")
        Jv = backend.check(Jv, dtype=np.float64, shape=(2,))
        batch = xd.grad(g, backend.asarray(np.array([[0.0, 1.0], [2.0, 3.0]])), method="complex")
        batch = backend.check(batch, dtype=np.float64, shape=(2, 2))
    assert np.isnan(grad).all()
    assert np.isnan(J[0]).all()
    np.testing.assert_allclose(J[1], [0.0, 4.0], atol=1e-12)
    assert math.isnan(Jv[0])
    assert Jv[1] == pytest.approx(4.0)
    assert np.isnan(batch[:, 0]).all()
    np.testing.assert_allclose(batch[:, 1], [1.0, 1.0])


def test_complex_hessian_where_func_at_x_is_not_finite_is_nan(backend):
    """The complex Hessian takes complex steps around x ± d e_j, where log is finite
    although log(0) is not: it gave -6.9e20 for log at 0 and -0.0011 for 1/x at 0.
    Every Hessian whose func value at x is not finite is NaN (Richardson's is), with
    its error; other points of a batch are kept."""
    xp = backend.xp

    def log(p):
        return xp.log(p[0, ...]) + p[1, ...] ** 2

    def reciprocal(p):
        return 1 / p[0, ...] + p[1, ...] ** 2

    x = backend.asarray(np.array([0.0, 1.0]))
    batch = backend.asarray(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # where Dask computes it
        for f in (log, reciprocal):
            res = xd.hessian(f, x, method="complex", full_output=True)
            H = backend.check(res.value, dtype=np.float64, shape=(2, 2))
            error = backend.check(res.error, dtype=np.float64, shape=(2, 2))
            assert np.isnan(H).all()
            assert np.isnan(error).all()
        H = xd.hessian(log, batch, method="complex")
        H = backend.check(H, dtype=np.float64, shape=(2, 2, 2))
    assert np.isnan(H[..., 0]).all()
    np.testing.assert_allclose(H[..., 1], [[-1.0, 0.0], [0.0, 2.0]], atol=1e-9)


def test_complex_hessian_with_inf_at_some_points():
    def f(p):
        value = np.sum(p**2, axis=0)
        return np.where(p[0].real > 1.05, np.inf, value)  # inf beyond x0 = 1.05

    H = xd.hessian(f, [1.0, 2.0], method="complex", method_args={"d": 0.1})
    assert np.isnan(H[:, 0]).all()  # every entry that needs points past the edge
    assert H[1, 1] == pytest.approx(2.0)


@pytest.mark.parametrize("where", ["perturbed", "at x"])
@pytest.mark.parametrize("derivative", ["grad", "jacobian"])
def test_simple_with_inf_is_nan(where, derivative):
    x0 = np.array([1.0, 2.0, 3.0])

    def f(p):
        value = p[0] ** 2 + p[1] + p[2]
        if where == "at x":
            return np.where(
                np.all(p == x0[:, None], axis=0) if p.ndim > 1 else True, np.inf, value
            )
        return np.where(p[1] != 2.0, np.inf, value)

    value = getattr(xd, derivative)(f, x0, method="simple")
    value = np.reshape(value, -1)
    if where == "at x":
        assert np.isnan(value).all()
    else:
        assert math.isnan(value[1])
        assert np.isfinite(value[[0, 2]]).all()


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex"])
def test_non_finite_everywhere_gives_nan_on_every_backend(backend, method):
    x = backend.asarray(np.array([0.5, 1.5]))

    def f(p):
        return backend.xp.sum(p, axis=0) + math.inf

    with np.errstate(invalid="ignore"):  # Dask computes inf - inf only here
        g = backend.check(xd.grad(f, x, method), dtype=np.float64, shape=(2,))
    assert np.isnan(g).all()


# --- func never sees the caller's arrays -----------------------------------------------------


def test_func_gets_copies_of_x():
    x = np.array([1.0, 2.0, 3.0])
    x0 = x.copy()
    seen = []

    def f(p):
        seen.append(p)
        p *= 0  # a func that writes into its argument
        return np.sum(p, axis=0)

    for method in ("Richardson", "simple", "complex"):
        xd.grad(f, x, method)
        xd.jacobian(f, x, method)
    xd.hessian(f, x)
    result = xd.genD(f, x)
    assert all(p is not x and not np.shares_memory(p, x) for p in seen)
    np.testing.assert_array_equal(x, x0)
    assert result.x is not x
    np.testing.assert_array_equal(result.x, x0)


def test_torch_func_writing_in_place_changes_nothing_of_the_caller():
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64)
    before = x.clone()

    def f(p):
        value = torch.sum(p**2, dim=0)
        p.mul_(2)
        return value

    g = xd.grad(f, x)
    assert torch.equal(x, before)
    np.testing.assert_allclose(g.numpy(), 2 * before.numpy(), rtol=1e-9)


# --- the user's exceptions -------------------------------------------------------------------


class Custom(Exception):
    pass


@pytest.mark.parametrize(
    "exception", [Custom("mine"), ZeroDivisionError("division"), ValueError("expected real input")]
)
def test_complex_step_keeps_the_users_exception(exception):
    def f(p):
        if p.ndim > 1:
            raise exception
        return np.sum(p)

    with pytest.raises(type(exception)) as info:
        xd.grad(f, [1.0, 2.0], method="complex")
    assert info.value is exception
    assert "does not accept complex" not in "".join(getattr(info.value, "__notes__", []))


def test_complex_step_notes_a_failure_of_complex_input():
    def f(p):
        if np.iscomplexobj(p):
            raise ValueError("real numbers only")  # fine on real numbers, not on complex ones
        return np.sum(p**2, axis=0)

    with pytest.raises(ValueError, match="real numbers only") as info:
        xd.grad(f, [1.0, 2.0], method="complex")
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "function does not accept complex argument as required by method 'complex'" in notes


@pytest.mark.parametrize(
    "func",
    [
        lambda x: x[0] ** 2 + math.sin(x[1]),
        lambda x: np.dot(x, x),
        lambda x: float(x[0] * x[1]),
    ],
    ids=["math.sin", "np.dot", "float"],
)
def test_plain_functions_fail_with_their_own_exception_and_a_note(func):
    with pytest.raises((TypeError, ValueError)) as info:
        xd.grad(func, [1.0, 2.0])
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "batch of points" in notes
    assert "vectorized=False" in notes
    g = xd.grad(func, [1.0, 2.0], vectorized=False)
    assert np.isfinite(g).all()


# --- silently wrong values -------------------------------------------------------------------


def test_small_functions_keep_their_sign():
    """numDeriv's 1e-20 rule gave -7.1e-25 here."""
    g = xd.grad(lambda p: 1e-21 * p[0] ** 2, [1.0])
    assert g[0] == pytest.approx(2e-21, rel=1e-9)
    g = xd.grad(lambda p: np.sqrt(p[0]), [1e300])
    assert g[0] == pytest.approx(0.5e-150, rel=1e-9)


@pytest.mark.parametrize(
    ("method_args", "match"),
    [
        ({"r": 30}, r"r=30 leaves only rounding noise.*The largest r allowed here is \d+"),
        ({"d": 1e-300}, r"d=1e-300 leaves only rounding noise.*smallest d allowed here is"),
        ({"v": 1 + 1e-9}, r"v=1.000000001 leaves only rounding noise.*too close to 1"),
        ({"zero_tol": math.nan}, r"zero_tol must be a number >= 0 \(inf allowed\), got nan"),
        ({"eps": 1e-30}, r"eps=1e-30 is too small for zero_tol"),
        # steps that grow beyond float64 (v below 1): Python's OverflowError, or NaN
        ({"v": 1e-200}, r"v=1e-200 with r=4 makes the steps grow.*smallest v allowed"),
        ({"v": 1e-60, "r": 8.0}, r"v=1e-60 with r=8.0 makes the steps grow"),
    ],
)
def test_settings_that_leave_only_noise_are_refused(method_args, match):
    with pytest.raises(ValueError, match=match):
        xd.grad(np.sin, [1.0, 2.0], method_args=method_args)


def test_steps_that_grow_beyond_float64_are_refused_everywhere():
    # derivative's Richardson raised OverflowError (float(v) ** -k), hessian and hvp gave
    # NaN with a NumPy warning; a v below 1 whose factors fit is computed (steps growing)
    f = lambda p: np.sum(np.sin(p), axis=0)  # noqa: E731
    x = np.array([0.5, 1.0])
    for call in (
        lambda a: xd.derivative(np.sin, x, n=2, method="Richardson", method_args=a),
        lambda a: xd.hessian(f, x, method_args=a),
        lambda a: xd.hvp(f, x, x, method_args=a),
        lambda a: xd.jacobian(f, x, method_args=a),
    ):
        with pytest.raises(ValueError, match="makes the steps grow"):
            call({"v": 1e-200})
    np.testing.assert_allclose(xd.grad(f, x, method_args={"v": 0.5}), np.cos(x), rtol=1e-8)


def test_ints_beyond_float64_in_method_args_are_value_errors():
    # 10**400 raised Python's OverflowError (float(value), math.isfinite(r)); as float64
    # sees it, it is inf: a ValueError naming the setting, and zero_tol's inf is allowed
    f = lambda p: np.sum(np.sin(p), axis=0)  # noqa: E731
    x, v = np.array([0.5, 1.0]), np.array([1.0, 0.0])
    calls = {
        "grad": lambda a: xd.grad(f, x, method_args=a),
        "jvp": lambda a: xd.jvp(np.sin, x, v, method_args=a),
        "hvp": lambda a: xd.hvp(f, x, v, method_args=a),
        "derivative": lambda a: xd.derivative(np.sin, x, n=2, method="Richardson", method_args=a),
    }
    for call in calls.values():
        for key in ("d", "eps", "v", "r"):
            # the given int by its size, not its 401 digits
            with pytest.raises(ValueError, match=f"method_args {key} must be") as error:
                call({key: 10**400})
            assert str(error.value).endswith("got an integer of 401 digits")
        np.testing.assert_array_equal(call({"zero_tol": 10**400}), call({"zero_tol": math.inf}))
    for key in ("d", "v", "r"):  # "adaptive", grad's and derivative's ladder
        with pytest.raises(ValueError, match=f"method_args {key} "):
            xd.grad(f, x, method="adaptive", method_args={key: 10**400})
        with pytest.raises(ValueError, match=f"method_args {key} "):
            xd.derivative(np.sin, x, n=2, method_args={key: -(10**400)})
    # beyond 4300 digits repr itself raised (Python's limit on int to str), not our error
    with pytest.raises(ValueError, match="n must be an integer from 1 to 10, got an integer"):
        xd.derivative(np.sin, x, n=10**5000)
    with pytest.raises(ValueError, match=r"got -3$"):  # a small int as given
        xd.grad(f, x, max_batch=-3)


def test_float32_steps_at_every_scale():
    x = np.float32([1e4])
    g = xd.grad(lambda p: np.sin(p[0]), x)
    assert g.dtype == np.float32
    assert g[0] == pytest.approx(np.cos(1e4), abs=1e-5)
    for scale in (1e-3, 1.0, 1e3):
        x = (np.linspace(0.5, 1.5, 11) * scale).astype(np.float32)
        g = xd.grad(np.exp, (x / scale).astype(np.float32))  # exp varies on the scale of 1
        np.testing.assert_allclose(g, np.exp(x / scale), rtol=3e-4)
        if scale >= 1:  # below zero_tol (0.41) the absolute step crosses 0: log is NaN there
            g = xd.grad(np.log, x)  # log varies on the scale of x
            np.testing.assert_allclose(g, 1 / x.astype(np.float64), rtol=1e-4)


def test_float32_second_derivatives():
    H = xd.hessian(lambda p: np.sum(p**2, axis=0), np.float32([1, 2]))
    np.testing.assert_allclose(H, 2 * np.eye(2), atol=1e-3)
    D = xd.genD(lambda p: np.sum(p**2, axis=0), np.float32([1, 2])).D
    np.testing.assert_allclose(D[0, 2:], [2, 0, 2], atol=1e-3)


def test_simple_step_that_vanishes_is_nan():
    """x + eps == x: numDeriv's 'simple' would say 0."""
    g = xd.grad(lambda p: p**2, np.array([1e20, 3.0]), "simple")
    assert math.isnan(g[0])
    assert g[1] == pytest.approx(6.0, rel=1e-3)


def test_square_chunks_cannot_hide_a_wrong_axis():
    def wrong_axis(p):
        return np.sum(p, axis=-1)  # the points' axis, not the coordinates'

    for max_batch in (3, None):
        with pytest.raises(ValueError, match="expected"):
            xd.grad(wrong_axis, [1.0, 2.0, 3.0], "simple", max_batch=max_batch)
    with pytest.raises(ValueError, match="expected"):
        xd.grad(wrong_axis, [1.0, 2.0, 3.0], max_batch=3)


def test_masked_x_is_refused():
    x = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match=r"masked array.*cannot honour a mask"):
        xd.grad(np.sin, x)


# --- errors of the right class ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_batch": "a"}, TypeError, "max_batch must be an integer >= 1 or None, got str"),
        ({"max_batch": 2.5}, TypeError, "got float 2.5"),
        ({"max_batch": True}, TypeError, "got bool"),
        ({"max_batch": 0}, ValueError, "got 0"),
        ({"vectorized": None}, TypeError, "vectorized must be True or False, got NoneType"),
        ({"full_output": "no"}, TypeError, "full_output must be True or False, got str 'no'"),
        ({"method": 3}, TypeError, "method must be a string"),
        ({"method": "newton"}, ValueError, "method must be one of"),
        ({"kwargs": [1]}, TypeError, "kwargs must be a dict or None"),
        ({"method_args": [1]}, TypeError, "method_args must be a dict"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        xd.grad(make("sc2", np), [1.0, 2.0], **kwargs)


def test_numpy_integers_are_integers():
    g = xd.grad(make("sc2", np), [1.0, 2.0], max_batch=np.int64(5))
    assert g.shape == (2,)
    assert xd.grad(make("sc2", np), [1.0, 2.0], vectorized=np.bool_(True)).shape == (2,)


@pytest.mark.parametrize(
    ("result", "match"),
    [
        (True, "func returned bool True"),
        (None, "func returned NoneType None"),
        ("1.0", "func returned str '1.0'"),
        (np.array([object()], dtype=object), "func returned an array of dtype object"),
        (np.array([True]), "func returned an array of dtype bool"),
    ],
    ids=["bool", "None", "str", "object", "bool array"],
)
def test_what_func_returns_is_checked(result, match):
    with pytest.raises(TypeError, match=match):
        xd.grad(lambda p: result, [1.0, 2.0])


def test_a_python_float_keeps_the_precision_of_x_on_every_backend(backend):
    """func's Python float (a number, ``vectorized=False``; or at x alone, arrays for the
    batch): PyTorch made it a tensor of its default dtype, float32, which rounded a
    float64 x's values: the 2nd derivative of exp was off by 0.04, grad by 3e-3, and
    the float at x alone made a false "mixes the points" error."""
    if not backend.supports(np.float64):
        pytest.skip(f"{backend.name} has no float64 here")
    xp, x0 = backend.xp, np.array([0.5, 1.0])
    x = backend.asarray(x0)

    def number(p):
        return math.exp(float(p[0]))

    d = xd.derivative(number, x, n=2, method="Richardson", vectorized=False)
    out = backend.check(d, dtype=np.float64, shape=(2,))
    np.testing.assert_allclose(out, np.exp(x0), rtol=1e-8)
    g = xd.grad(lambda p: float(p[0]) * float(p[1]) ** 2, x, vectorized=False)
    np.testing.assert_allclose(backend.check(g, dtype=np.float64, shape=(2,)), [1.0, 1.0])

    def float_at_x(p):  # a number at x alone, arrays for the batch
        value = xp.exp(p[0, ...]) * p[1, ...]
        return float(value) if p.ndim == 1 else value

    g = xd.grad(float_at_x, x)
    exact = [math.exp(0.5), math.exp(0.5)]
    np.testing.assert_allclose(backend.check(g, dtype=np.float64, shape=(2,)), exact, rtol=1e-10)


def test_func_returning_another_library_is_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"func returned a NumPy array for x of library .*torch"):
        xd.grad(lambda p: np.sum(p.numpy(), axis=0), torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="func returned a torch array for x of library"):
        xd.grad(lambda p: torch.sum(torch.asarray(p), dim=0), np.array([1.0, 2.0]))


def test_complex_values_need_the_complex_method():
    with pytest.raises(TypeError, match="func returned complex values"):
        xd.grad(lambda p: np.sum(p, axis=0) * 1j, [1.0, 2.0])


def test_second_derivatives_list_their_methods():
    with pytest.raises(ValueError, match=r"method not implemented\. genD's method must be one of"):
        xd.genD(make("sc2", np), [1.0, 2.0], method="complex")
    with pytest.raises(ValueError, match=r"'Richardson', 'complex'.*got 'simple'"):
        xd.hessian(make("sc2", np), [1.0, 2.0], method="simple")


# --- JAX without 64-bit types ----------------------------------------------------------------


@pytest.fixture
def jax32():
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        yield jax.numpy
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_jax_32_bit_mode_without_warnings(jax32):
    jnp = jax32
    x = jnp.asarray([0.5, 1.0, 2.0])

    def f(p):
        return jnp.sum(jnp.sin(p) ** 2, axis=0)

    exact = np.sin(2 * np.array([0.5, 1.0, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method, tol in (("Richardson", 1e-4), ("simple", 5e-3), ("complex", 1e-6)):
            g = xd.grad(f, x, method)
            assert g.dtype == jnp.float32
            np.testing.assert_allclose(np.asarray(g), exact, atol=tol)
        H = xd.hessian(f, x)
        Hc = xd.hessian(f, x, "complex")
        D = xd.genD(lambda p: jnp.stack([f(p), p[0, ...] * p[1, ...]]), x).D
        grad_int = xd.grad(f, jnp.asarray([1, 2, 3]))
        g1 = xd.gradient(jnp.asarray([1, 2, 4, 7]))
        g2 = xd.gradient(jnp.asarray([1.0, 2.0, 4.0, 7.0]), [0.0, 1.0, 1.5, 3.0], edge_order=2)
        g3 = xd.gradient(jnp.arange(8.0) ** 2, 0.5, accuracy=4, periodic=False)
        t = jnp.arange(16.0) * (2 * np.pi / 16)
        g4 = xd.gradient(jnp.sin(t), 2 * np.pi / 16, periodic=True, accuracy=6)
    exact_h = np.diag(2 * np.cos(2 * np.array([0.5, 1.0, 2.0])))
    np.testing.assert_allclose(np.asarray(H), exact_h, atol=2e-3)
    np.testing.assert_allclose(np.asarray(Hc), exact_h, atol=1e-5)
    assert D.dtype == jnp.float32
    assert grad_int.dtype == jnp.float32
    assert g1.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(g1), np.gradient(np.array([1, 2, 4, 7])))
    np.testing.assert_allclose(
        np.asarray(g2),
        np.gradient([1.0, 2.0, 4.0, 7.0], [0.0, 1.0, 1.5, 3.0], edge_order=2),
        rtol=1e-5,
    )
    np.testing.assert_allclose(np.asarray(g3), 4 * np.arange(8.0), atol=1e-4)
    np.testing.assert_allclose(np.asarray(g4), np.cos(np.arange(16) * 2 * np.pi / 16), atol=1e-4)


def test_counting_func_sees_copies():
    func = CountingFunc(make("sc2", np))
    x = np.array([0.3, 0.6])
    xd.grad(func, x)
    assert func.calls == 2


# --- faults with workers: in a subprocess with a time limit, so a regression cannot hang CI ---

WORKER_MODULE = '''
import os, time
import numpy as np

def hangs_or_fails(x):
    """The points below x hang (their worker sleeps 10 minutes); those above fail."""
    if x.ndim == 2 and np.any(x[0] < 0.99999):
        with open(os.environ["PIDS"], "a") as pids:
            pids.write(f"{os.getpid()}\\n")
        time.sleep(600)
    if x.ndim == 2 and np.any(x[0] > 1.00001):
        for _ in range(200):  # fail once the other worker hangs (its pid written, not
            # only the file created: killed before its write, it would leave no pid)
            if os.path.exists(os.environ["PIDS"]) and os.path.getsize(os.environ["PIDS"]):
                break
            time.sleep(0.05)
        raise RuntimeError("an error in another chunk")
    return np.sum(x**2, axis=0)

def hangs(x):
    if x.ndim == 2:
        with open(os.environ["PIDS"], "a") as pids:
            pids.write(f"{os.getpid()}\\n")
        time.sleep(600)
    return np.sum(x**2, axis=0)

class Unpicklable(Exception):
    def __init__(self):
        super().__init__("raised in a worker")
        self.handle = open(os.devnull)

def raises_unpicklable(x):
    if x.ndim == 2:
        raise Unpicklable()
    return np.sum(x, axis=0)
'''


def _run_python(tmp_path, code: str, timeout: float = 60.0):
    """``code`` in a fresh interpreter beside the module above; (stdout + stderr, worker pids)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "worker_funcs.py").write_text(WORKER_MODULE)
    pids = tmp_path / "pids.txt"
    source = str(Path(xd.__file__).resolve().parents[1])
    env = dict(os.environ, PIDS=str(pids), PYTHONPATH=os.pathsep.join([source, str(tmp_path)]))
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,  # a regression fails here instead of hanging the suite
    )
    started = [int(p) for p in pids.read_text().split()] if pids.exists() else []
    return done.stdout + done.stderr, started


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"
    except OSError:
        return False


#: a thread that runs ``then`` once both workers hang (their pids written): a fixed delay
#: could fire before a loaded machine had started them, leaving no pid to check
ONCE_THE_WORKERS_HANG = (
    "import os, signal, threading, time\n"
    "def once_the_workers_hang(then):\n"
    "    def wait():\n"
    "        for _ in range(1200):\n"
    "            pids = os.environ['PIDS']\n"
    "            if os.path.exists(pids) and len(open(pids).read().split()) >= 2:\n"
    "                break\n"
    "            time.sleep(0.05)\n"
    "        then()\n"
    "    threading.Thread(target=wait, daemon=True).start()\n"
)

ABANDON = {
    "error in another chunk": (
        "hangs_or_fails",
        "",
        "RuntimeError",
    ),
    "SIGALRM timeout": (
        "hangs",
        ONCE_THE_WORKERS_HANG + "def on_alarm(*_):\n    raise TimeoutError('the caller gave up')\n"
        "signal.signal(signal.SIGALRM, on_alarm)\n"
        "once_the_workers_hang(lambda: signal.alarm(1))\n",
        "TimeoutError",
    ),
    "SIGINT": (
        "hangs",
        ONCE_THE_WORKERS_HANG
        # Ctrl-C's handler, as in a terminal: a runner in the background (a shell's `&`)
        # hands its children SIGINT ignored, and the signal then did nothing
        + "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "once_the_workers_hang(lambda: os.kill(os.getpid(), signal.SIGINT))\n",
        "KeyboardInterrupt",
    ),
}


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX signals and /proc")
@pytest.mark.parametrize("case", list(ABANDON))
def test_abandoned_derivative_ends_its_workers(tmp_path, case):
    """The caller's exception does not wait for a hung worker (it slept 10 minutes before)."""
    func, setup, expected = ABANDON[case]
    code = (
        "import time, multiprocessing\nimport numpy as np\nimport xpdiff as xd\n"
        f"from worker_funcs import {func}\n{setup}"
        "start = time.monotonic()\n"
        "try:\n"
        f"    xd.grad({func}, np.ones(4), workers=2, max_batch=1)\n"
        "except BaseException as exc:\n"
        "    print('raised', type(exc).__name__)\n"
        "print('seconds', time.monotonic() - start)\n"
        "print('children', len(multiprocessing.active_children()))\n"
    )
    out, pids = _run_python(tmp_path, code)
    assert f"raised {expected}" in out, out
    assert "children 0" in out, out
    assert pids, out  # a worker did hang
    seconds = float(out.split("seconds ")[1].split()[0])
    assert seconds < 30, out  # the worker slept 600 s
    assert not any(_alive(pid) for pid in pids), (pids, out)
    assert "Exception in thread" not in out, out


def test_func_of_python_c_is_refused_before_the_pool_starts(tmp_path):
    code = (
        "import numpy as np\nimport xpdiff as xd\n"
        "def f(x):\n    return np.sum(x**2, axis=0)\n"
        "try:\n    xd.grad(f, np.ones(3), workers=2)\n"
        "except TypeError as exc:\n    print('TypeError:', exc)\n"
    )
    out, _ = _run_python(tmp_path, code)
    assert "TypeError: func cannot be sent to worker processes" in out, out
    assert "__main__" in out
    assert "importable" in out or "Define func in a module" in out
    assert "BrokenProcessPool" not in out


def test_unpicklable_worker_exception_does_not_blame_func(tmp_path):
    code = (
        "import numpy as np\nimport xpdiff as xd\n"
        "from worker_funcs import raises_unpicklable\n"
        "try:\n    xd.grad(raises_unpicklable, np.ones(3), workers=2)\n"
        "except Exception as exc:\n"
        "    print('raised', type(exc).__name__)\n"
        "    print('notes', getattr(exc, '__notes__', None))\n"
    )
    out, _ = _run_python(tmp_path, code)
    assert "raised" in out, out
    assert "could not send back the exception" in out, out
    assert "must be picklable" not in out, out


@pytest.mark.parametrize("method", ["Richardson", "simple", "complex", "adaptive"])
def test_func_without_outputs_has_an_empty_jacobian(backend, method):
    """A func that returns no value (m = 0) has a Jacobian of shape (0, n) (and (0, n, B)
    at B base points), as numpy.gradient of an empty axis is empty: it raised
    ZeroDivisionError in the layout, and "adaptive" a ValueError of NumPy's."""
    if backend.name == "dask" and method == "adaptive":
        pytest.xfail("Dask: a where on the empty outputs' blocks fails when computed (open)")

    def f(z):
        return z[:0, ...] * 2.0

    for x in (np.array([0.5, 1.5]), np.ones((2, 5))):
        jac = xd.jacobian(f, backend.asarray(x), method=method)
        backend.check(jac, dtype=np.float64, shape=(0, *x.shape))
    v = backend.asarray(np.array([1.0, -1.0]))
    backend.check(
        xd.jvp(f, backend.asarray(np.array([0.5, 1.5])), v), dtype=np.float64, shape=(0,)
    )


def test_richardson_error_estimates_include_rounding():
    """Richardson's estimate is the last two levels' difference plus the value's
    rounding: the difference alone was 50 to 500 times below the true error where
    rounding dominates (exp's n-th derivatives), and 0.00043 for an error of 1."""
    x = np.linspace(0.5, 3.0, 9)
    for n in range(1, 7):
        res = xd.derivative(np.exp, x, n=n, method="Richardson", full_output=True)
        error = np.abs(res.value - np.exp(x))
        assert np.all(error <= res.error), n
        assert np.median(res.error / error) < 100, n  # an estimate, not a blanket bound
    offset = xd.jacobian(lambda h: 1e12 + np.sum(h, axis=0), np.ones(2), full_output=True)
    assert np.all(np.abs(offset.value - 1) <= offset.error)
    hv = xd.hvp(lambda t: np.sum(np.cos(t), axis=0), np.zeros(3), np.ones(3), full_output=True)
    assert np.all(np.abs(hv.value + 1) <= hv.error)
    # jvp level by level (a small memory budget): its estimate was signed
    z = np.random.default_rng(4).uniform(0.5, 1.5, 50)
    with xd.memory_budget(3000):
        small = xd.jvp(np.sin, z, np.cos(z), full_output=True)
    whole = xd.jvp(np.sin, z, np.cos(z), full_output=True)
    assert np.all(np.abs(small.value - np.cos(z) ** 2) <= small.error)
    np.testing.assert_allclose(small.error, whole.error, rtol=0.01)


def test_richardson_rounding_term_edges():
    # eps first: a value near float's largest keeps a finite estimate (it was inf)
    big = xd.derivative(
        lambda t: 1e308 * (1 + 0.1 * np.sin(t)), [1.0], method="Richardson", full_output=True
    )
    assert np.isfinite(big.value).all()
    assert np.isfinite(big.error).all()
    # where every value is f(x), func may change below its values' rounding: 1e14 + x**2/2
    # at 1 with steps of 1e-4 gave a derivative of 0 with an estimate of 0 (grad, jvp,
    # hvp, derivative); a coordinate an output does not use gets eps |f(x)| A / h
    flat = lambda t: 1e14 + 0.5 * np.sum(t * t, axis=0)  # noqa: E731
    x, e0 = np.array([1.0, 1.0]), np.array([1.0, 0.0])
    cubes = lambda t: 1e20 + np.sum(t**3, axis=0)  # noqa: E731
    for res, exact in (
        (xd.grad(flat, x, full_output=True), x),
        (xd.jvp(flat, x, e0, full_output=True), 1.0),
        (xd.hvp(cubes, x, e0, full_output=True), [6.0, 0.0]),
        (
            xd.derivative(
                lambda t: 1e20 + t**3, [1.0], n=2, method="Richardson", full_output=True
            ),
            6.0,
        ),
    ):
        assert np.all(np.abs(res.value - exact) <= res.error)
    J = xd.jacobian(lambda t: np.stack([t[0] ** 2, 1e3 + t[0]]), [0.7, 1.5], full_output=True)
    assert np.all(J.value[:, 1] == 0)
    assert np.all((J.error[:, 1] > 0) & (J.error[:, 1] < 1e-7))
    # along a zero direction the points are x itself: the product is 0 exactly
    zero = xd.jvp(np.exp, np.array([0.5, 1.0]), np.zeros(2), full_output=True)
    assert np.all(zero.value == 0)
    assert np.all(zero.error == 0)
    some = xd.jvp(flat, x, np.array([[0.0, 1.0], [0.0, 1.0]]), full_output=True)
    assert some.error[0] == 0
    assert some.error[1] > 0
    # float32 first derivatives pick a ladder by the levels' difference and their own
    # rounding term (select_ladder), as before: the same value with or without full_output
    x32 = np.linspace(-1, 1, 9, dtype=np.float32)
    full = xd.derivative(np.sin, x32, method="Richardson", full_output=True)
    assert np.array_equal(full.value, xd.derivative(np.sin, x32, method="Richardson"))
    # (at x = 0 its rounding term, from |f(x)| = 0, is 0: an error of 1 ulp goes unseen)
    bounded = np.abs(full.value - np.cos(x32.astype(np.float64))) <= full.error
    assert np.all(bounded[x32 != 0])


def test_jvp_level_by_level_on_array_api_strict():
    # c[level] indexed a 5-D array with one index: an IndexError on array-api-strict
    xps = pytest.importorskip("array_api_strict")

    def f(z):
        return xps.stack([z[0, ...] * z[1, ...]])

    x, v = xps.asarray([0.7, -1.3]), xps.asarray([0.3, 1.0])
    with xd.memory_budget(200):
        small = xd.jvp(f, x, v, full_output=True)
    whole = xd.jvp(f, x, v, full_output=True)
    assert abs(float(small.value[0]) - (-1.3 * 0.3 + 0.7)) < 1e-9
    assert float(small.error[0]) == pytest.approx(float(whole.error[0]), rel=0.01)
