"""xd.as_jax and xd.as_torch: NumPy black boxes inside JAX and PyTorch autodiff."""

from __future__ import annotations

import numpy as np
import pytest

import xpdiff as xd


def simulator(x):
    """A NumPy-only black box: (n, ...) -> (3, ...), n = 3."""
    return np.stack([np.sin(x[0]) * x[1], np.exp(x[1]) - x[2] ** 2, x[0] * x[1] * x[2]])


def simulator_exact_jacobian(x):
    return np.array(
        [
            [np.cos(x[0]) * x[1], np.sin(x[0]), 0.0],
            [0.0, np.exp(x[1]), -2 * x[2]],
            [x[1] * x[2], x[0] * x[2], x[0] * x[1]],
        ]
    )


X = np.array([0.5, 0.2, -1.5])


def loss_gradient_exact(x):
    """The gradient of sum(simulator(x) ** 2)."""
    return 2 * simulator(x) @ simulator_exact_jacobian(x)


def relative(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


# --- JAX ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def test_as_jax_gradient_of_a_loss(jax):
    jnp = jax.numpy
    f = xd.as_jax(simulator)
    grad = jax.grad(lambda x: jnp.sum(f(x) ** 2))(jnp.asarray(X))
    assert grad.dtype == jnp.float64
    assert relative(grad, loss_gradient_exact(X)) < 1e-7
    jitted = jax.jit(jax.grad(lambda x: jnp.sum(f(x) ** 2)))(jnp.asarray(X))
    assert relative(jitted, loss_gradient_exact(X)) < 1e-7


def test_as_jax_values_jacfwd_jacrev(jax):
    jnp = jax.numpy
    f = xd.as_jax(simulator)
    x = jnp.asarray(X)
    assert np.allclose(np.asarray(f(x)), simulator(X), rtol=1e-15)
    exact = simulator_exact_jacobian(X)
    assert relative(jax.jacfwd(f)(x), exact) < 1e-9
    assert relative(jax.jacrev(f)(x), exact) < 1e-9
    assert relative(jax.jit(jax.jacrev(f))(x), exact) < 1e-9


def test_as_jax_vmap_is_one_batched_call(jax):
    jnp = jax.numpy
    calls = []

    def counted(x):
        calls.append(x.shape)
        return simulator(x)

    f = xd.as_jax(counted)
    points = np.stack([X, 2 * X, X + 1])
    calls.clear()
    values = jax.vmap(f)(jnp.asarray(points))
    assert values.shape == (3, 3)
    assert np.allclose(np.asarray(values), simulator(points.T).T)
    # the first batch at this n: with a copy of its first point and a sentinel, then func
    # at that point alone (the check that func does not mix points)
    assert calls[-2:] == [(3, 5), (3,)]
    calls.clear()
    again = jax.vmap(f)(jnp.asarray(points))
    assert np.array_equal(np.asarray(again), np.asarray(values))
    assert calls == [(3, 3)]  # the three points in one call, coordinates on axis 0
    jacobians = jax.jit(jax.vmap(jax.jacrev(f)))(jnp.asarray(points))
    for point, jacobian in zip(points, np.asarray(jacobians), strict=True):
        assert relative(jacobian, simulator_exact_jacobian(point)) < 1e-9
    # a batch of points as (*batch, n) works without vmap too
    assert np.allclose(np.asarray(f(jnp.asarray(points))), simulator(points.T).T)


def test_as_jax_scalar_black_box_and_options(jax):
    jnp = jax.numpy
    f = xd.as_jax(lambda x: np.sum(np.sin(x) * x, axis=0), method="complex")
    x = jnp.asarray(X)
    assert f(x).shape == ()
    exact = np.cos(X) * X + np.sin(X)
    assert relative(jax.grad(f)(x), exact) < 1e-13
    pointwise = xd.as_jax(lambda x: float(np.sum(np.sin(x) * x)), vectorized=False)
    assert relative(jax.grad(pointwise)(x), exact) < 1e-9


def test_as_jax_float32_keeps_its_dtype(jax):
    jnp = jax.numpy
    f = xd.as_jax(simulator)
    x = jnp.asarray(X, dtype=jnp.float32)
    assert f(x).dtype == jnp.float32
    grad = jax.grad(lambda x: jnp.sum(f(x) ** 2))(x)
    assert grad.dtype == jnp.float32
    assert relative(grad, loss_gradient_exact(X)) < 1e-5


def test_as_jax_training_step_under_jit(jax):
    jnp = jax.numpy
    rng = np.random.default_rng(0)
    inputs = jnp.asarray(rng.standard_normal((8, 2)))
    targets = jnp.asarray(rng.standard_normal((8, 3)))
    layer = xd.as_jax(simulator)

    def jax_simulator(x):  # the same black box written in JAX: the reference
        return jnp.stack(
            [jnp.sin(x[..., 0]) * x[..., 1], jnp.exp(x[..., 1]) - x[..., 2] ** 2, jnp.prod(x, -1)],
            axis=-1,
        )

    def loss(params, box):
        hidden = jnp.tanh(inputs @ params["w"] + params["b"])  # (8, 3)
        return jnp.mean((box(hidden) - targets) ** 2)

    @jax.jit
    def step(params):
        value, grads = jax.value_and_grad(loss)(params, layer)
        return value, jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads), grads

    params = {"w": jnp.asarray(rng.standard_normal((2, 3)) * 0.5), "b": jnp.zeros(3)}
    value, updated, grads = step(params)
    reference = jax.grad(loss)(params, jax_simulator)
    for name in ("w", "b"):
        assert relative(grads[name], np.asarray(reference[name])) < 1e-7
    assert float(loss(updated, layer)) < float(value)


def test_as_jax_never_hands_its_arrays_to_func(jax):
    jnp = jax.numpy

    def mutating(x):
        out = simulator(x)
        x[...] = 7.0
        return out

    f = xd.as_jax(mutating)
    x = jnp.asarray(X)
    grad = jax.grad(lambda x: jnp.sum(f(x) ** 2))(x)
    assert np.array_equal(np.asarray(x), X)
    assert relative(grad, loss_gradient_exact(X)) < 1e-7


# --- PyTorch ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_as_torch_backward_and_autograd_grad(torch):
    f = xd.as_torch(simulator)
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    y = f(x)
    assert y.dtype == torch.float64
    assert y.shape == (3,)
    assert np.allclose(y.detach().numpy(), simulator(X), rtol=1e-15)
    (y**2).sum().backward()
    assert relative(x.grad.numpy(), loss_gradient_exact(X)) < 1e-7
    x2 = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((f(x2) ** 2).sum(), x2)
    assert relative(g.numpy(), loss_gradient_exact(X)) < 1e-7


def test_as_torch_gradcheck(torch):
    f = xd.as_torch(simulator)
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,))
    batch = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (batch,))


def test_as_torch_second_derivatives_raise_instead_of_zeros(torch):
    """A backward with create_graph=True (a Hessian, a gradient penalty) raises: with
    once_differentiable it ran, and the black box's second derivatives came back 0."""
    f = xd.as_torch(lambda h: np.sum(h**3, axis=0))
    x = torch.tensor([0.5, 0.2, -1.5], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative is not differentiable in PyTorch"):
        torch.autograd.functional.hessian(f, x)
    with pytest.raises(RuntimeError, match=r"xd\.hessian or xd\.hvp"):
        torch.autograd.grad(f(x), x, create_graph=True)
    f(x).backward()  # first derivatives as before
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.detach().numpy() ** 2, rtol=1e-8)


def test_as_jax_second_derivatives_say_what_to_use(jax):
    """jax.hessian and derivatives of the gradient raise the wrapper's error (a
    RuntimeError naming xd.hessian and xd.hvp), where JAX's said to use jax.custom_jvp,
    which the wrapper already is; first derivatives are unchanged."""
    jnp = jax.numpy
    f = xd.as_jax(lambda h: np.sum(h**3, axis=0))
    x = jnp.asarray(X)
    second = [
        jax.hessian(f),
        jax.jit(jax.hessian(f)),
        jax.jacfwd(jax.jacrev(f)),
        jax.grad(lambda y: jnp.sum(jax.grad(f)(y))),
    ]
    for g in second:
        with pytest.raises(
            RuntimeError, match=r"not differentiable in JAX.*xd\.hessian or xd\.hvp"
        ):
            g(x)
    np.testing.assert_allclose(np.asarray(jax.grad(f)(x)), 3 * X**2, rtol=1e-8)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(f))(x)), 3 * X**2, rtol=1e-8)


def test_as_torch_bfloat16(torch):
    """NumPy has no bfloat16: the forward failed with "Got unsupported ScalarType"."""
    f = xd.as_torch(lambda h: np.sum(h**2, axis=0))
    x = torch.tensor([0.5, 1.5], dtype=torch.bfloat16, requires_grad=True)
    y = f(x)
    assert y.dtype == torch.bfloat16
    y.backward()
    assert x.grad.dtype == torch.bfloat16
    np.testing.assert_allclose(x.grad.double().numpy(), [1.0, 3.0], rtol=1e-2)


def test_as_torch_training_step(torch):
    torch.manual_seed(0)
    inputs = torch.randn(8, 2, dtype=torch.float64)
    targets = torch.randn(8, 3, dtype=torch.float64)
    layer = xd.as_torch(simulator)

    def torch_simulator(x):
        return torch.stack(
            [torch.sin(x[..., 0]) * x[..., 1], torch.exp(x[..., 1]) - x[..., 2] ** 2, x.prod(-1)],
            dim=-1,
        )

    model = torch.nn.Linear(2, 3).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def loss_with(box):
        return ((box(torch.tanh(model(inputs))) - targets) ** 2).mean()

    reference = torch.autograd.grad(loss_with(torch_simulator), list(model.parameters()))
    optimizer.zero_grad()
    loss = loss_with(layer)
    loss.backward()
    for parameter, expected in zip(model.parameters(), reference, strict=True):
        assert relative(parameter.grad.numpy(), expected.numpy()) < 1e-7
    optimizer.step()
    with torch.no_grad():
        assert float(loss_with(layer)) < float(loss)


def test_as_torch_keeps_the_callers_tensor(torch):
    def mutating(x):
        out = simulator(x)
        x[...] = 7.0
        return out

    f = xd.as_torch(mutating)
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (f(x) ** 2).sum().backward()
    assert np.array_equal(x.detach().numpy(), X)
    assert relative(x.grad.numpy(), loss_gradient_exact(X)) < 1e-7


def test_as_torch_float32(torch):
    f = xd.as_torch(simulator)
    x = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    y = f(x)
    assert y.dtype == torch.float32
    (y**2).sum().backward()
    assert x.grad.dtype == torch.float32
    assert relative(x.grad.numpy(), loss_gradient_exact(X)) < 1e-5
    # a NumPy array keeps its float dtype, as as_jax does (float32 came back float64);
    # a list and integers are float64, as NumPy makes them
    for data, dtype in (
        (X.astype(np.float32)[::-1], torch.float32),  # negative strides: torch takes a copy
        (X.astype(np.float16), torch.float16),
        (list(X), torch.float64),
        (np.array([1, 2, 3]), torch.float64),
    ):
        assert f(data).dtype == dtype


# --- options --------------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", ["as_jax", "as_torch"])
def test_bad_options(wrap):
    pytest.importorskip("jax" if wrap == "as_jax" else "torch")
    with pytest.raises(TypeError, match="unexpected options 'full_output'"):
        getattr(xd, wrap)(simulator, full_output=True)
    with pytest.raises(TypeError, match="func must be callable"):
        getattr(xd, wrap)(None)
    # the options are jacobian's, checked when the wrapper is made: inside JAX's callback a
    # bad method became JAX's runtime error at the first gradient, and vectorized="yes"
    # was never checked on the values' path
    bad = [
        ({"method": "bogus"}, ValueError, "method must be one of"),
        ({"vectorized": "yes"}, TypeError, "vectorized must be True or False"),
        ({"method_args": {"q": 1}}, ValueError, "unknown method_args key 'q'"),
        ({"method_args": {"d": 1e-300}}, ValueError, "rounding noise"),
        ({"max_batch": 0}, ValueError, "max_batch must be"),
        ({"kwargs": [1]}, TypeError, "kwargs must be a dict"),
        # workers and side's values too (side's length is x's, checked at the call)
        ({"workers": -2}, ValueError, "workers must be a number of processes"),
        ({"workers": "many"}, TypeError, "workers must be None"),
        ({"side": [2, 0]}, ValueError, "should have values NA, \\+1, or -1"),
    ]
    for options, error, match in bad:
        with pytest.raises(error, match=match):
            getattr(xd, wrap)(simulator, **options)


def test_as_jax_list_args_one_argument_for_values_and_derivatives(jax):
    """args that are not a tuple are one argument, for the values as for jacobian's
    derivatives (the values unpacked a list: func got its items)."""

    def func(x, scale):
        return np.stack([scale[0] * np.sin(x[0]), scale[1] * x[1] ** 2])

    f = xd.as_jax(func, args=[2.0, 3.0])
    x = jax.numpy.array([0.5, 0.2])
    assert np.allclose(np.asarray(f(x)), [2 * np.sin(0.5), 3 * 0.04], rtol=1e-12)
    J = np.asarray(jax.jacfwd(f)(x))
    assert np.allclose(J, [[2 * np.cos(0.5), 0.0], [0.0, 3 * 0.4]], rtol=1e-7, atol=1e-10)


# --- batches: checked as jacobian checks its calls ------------------------------------------


def mixing(h):
    """Written for one point: np.sum without axis=0 sums over the whole batch."""
    return h[0] * np.sum(h)


def outputs_last(h):
    """The outputs stacked on the last axis: (P, 2) for a batch, where (2, P) is expected."""
    return np.stack([h[0] + h[1], h[0] * h[1]], axis=-1)


BATCH = np.array([[1.0, 2.0], [3.0, 4.0]])  # two points (one per row), n = 2


def test_as_torch_batch_of_a_func_that_mixes_points_is_refused(torch):
    """A batch's values were func's on the points with no check: mixing(h) gave [10, 30]
    for [3, 21], under no_grad without a word; outputs_last gave values in the wrong order."""
    with torch.no_grad(), pytest.raises(ValueError, match="func mixes the points of a batch"):
        xd.as_torch(mixing)(torch.tensor(BATCH))
    with pytest.raises(xd.errors.BatchShapeError, match=r"expected \(2, 4\)"):
        xd.as_torch(outputs_last)(torch.tensor(BATCH))
    # one point at a time: right
    pointwise = xd.as_torch(mixing, vectorized=False)(torch.tensor(BATCH))
    assert np.array_equal(pointwise.numpy(), [3.0, 21.0])


def test_as_jax_batch_of_a_func_that_mixes_points_is_refused(jax):
    jnp = jax.numpy
    for f in (xd.as_jax(mixing), jax.jit(jax.vmap(xd.as_jax(mixing)))):
        with pytest.raises(Exception, match="func mixes the points of a batch"):
            np.asarray(f(jnp.asarray(BATCH)))
    with pytest.raises(Exception, match="BatchShapeError"):
        np.asarray(xd.as_jax(outputs_last)(jnp.asarray(BATCH)))


def test_batch_check_passes_rounding_and_is_made_once_per_n(torch):
    """A func whose batch rounds otherwise than one point (a matrix product) passes; the
    check is made on the first batch at each n, then a batch is one call."""
    A = np.random.default_rng(1).standard_normal((4, 3))
    calls = []

    def layer(h):
        calls.append(h.shape)
        return np.tanh(A @ h)

    f = xd.as_torch(layer)
    points = np.random.default_rng(2).standard_normal((5, 3))
    y = f(torch.tensor(points))
    assert np.allclose(y.numpy(), np.tanh(points @ A.T), rtol=1e-14)
    assert calls == [(3,), (3, 7), (3,)]  # its shape, the batch with two more, one alone
    calls.clear()
    f(torch.tensor(points[:2]))
    assert calls == [(3, 2)]


@pytest.mark.parametrize("max_batch", [1, 2, 3, 8])
def test_values_in_calls_of_max_batch(jax, torch, max_batch):
    """max_batch bounds the values' calls as it does the Jacobian's: a batch of 50 went
    to func in one call of 52 points (a simulator that takes 8 at most failed on the
    forward pass); the check's two points join the first call (max_batch 2: the
    sentinel beside the first point; 1: none, one point cannot mix)."""
    points = np.random.default_rng(3).standard_normal((50, 3))
    sizes = []

    def capped(h):
        sizes.append(1 if h.ndim == 1 else h.shape[1])
        return np.sum(np.sin(h), axis=0) * np.stack([np.ones_like(h[0]), h[0]])

    exact = np.sum(np.sin(points), axis=1)[:, None] * np.stack([np.ones(50), points[:, 0]], 1)
    for values in (
        lambda: xd.as_torch(capped, max_batch=max_batch)(torch.tensor(points)).numpy(),
        lambda: np.asarray(xd.as_jax(capped, max_batch=max_batch)(jax.numpy.asarray(points))),
    ):
        np.testing.assert_allclose(values(), exact, rtol=1e-13, atol=1e-13)
        assert max(sizes) <= max_batch
        sizes.clear()
    if max_batch > 1:
        with pytest.raises(ValueError, match="func mixes the points of a batch"):
            xd.as_torch(mixing, max_batch=max_batch)(torch.tensor(points[:, :2].copy()))

    class Mine(Exception):
        pass

    def refuses_batches(h):
        if h.ndim > 1:
            raise Mine("no batches")
        return np.sin(h[0])

    with pytest.raises(Mine) as info:
        xd.as_torch(refuses_batches, max_batch=max_batch)(torch.tensor(points))
    # func's own exception, with a note of the points xpdiff added to its first call (none
    # with one point per call: no check)
    notes = getattr(info.value, "__notes__", [])
    added = {2: "one point to the 1", 3: "two points to the 1", 8: "two points to the 6"}
    assert len(notes) == (max_batch > 1)
    if max_batch > 1:
        assert f"xpdiff added {added[max_batch]} of this batch" in notes[0]


def test_values_within_the_memory_budget(jax, torch):
    """The values' calls hold the budget as the engine's do: a batch of 5000 points went
    to func in one call of 5002 under a budget of 64 KiB, where the Jacobian's calls
    were split; a call's points and values now take at most a quarter of what the
    batch leaves, or of a quarter of the budget (the batch itself is 240 KB here)."""
    points = np.random.default_rng(5).uniform(-1.0, 1.0, (5000, 3))
    exact = np.moveaxis(simulator(points.T), 0, -1)
    sizes = []

    def counted(h):
        sizes.append(1 if h.ndim == 1 else h.shape[1])
        return simulator(h)

    budget = 64 * 1024
    for values in (
        lambda: xd.as_torch(counted)(torch.tensor(points)).numpy(),
        lambda: np.asarray(xd.as_jax(counted)(jax.numpy.asarray(points))),
    ):
        np.testing.assert_allclose(values(), exact, rtol=1e-15, atol=0)
        assert max(sizes) == 5002  # the whole batch and the check's two in one call
        sizes.clear()
        with xd.memory_budget(budget):
            np.testing.assert_allclose(values(), exact, rtol=1e-15, atol=0)
        assert len(sizes) > 20
        assert max(sizes) * 8 * (3 + 3) <= budget // 16  # points and values, float64
        sizes.clear()


@pytest.mark.parametrize("workers", [2, "map"])
def test_workers_serve_the_derivatives(jax, torch, workers):
    """workers (a process pool of 2, or a thread pool's map) compute the Jacobian of the
    backward passes: the gradients of the loss as without them (func at module level of
    helpers, so that worker processes can import it)."""
    from concurrent.futures import ThreadPoolExecutor

    from helpers import picklable_sc2

    x = np.array([0.5, -0.3, 1.2])
    weights = np.arange(1.0, 4.0)
    exact = 2 * picklable_sc2(x) * weights * (np.exp(x) - 1) / 3  # of picklable_sc2(x)**2
    with ThreadPoolExecutor(2) as pool:
        options = {"workers": pool.map if workers == "map" else workers}
        f = xd.as_jax(picklable_sc2, **options)
        g = jax.grad(lambda z: f(z) ** 2)(jax.numpy.asarray(x))
        assert relative(g, exact) < 1e-7
        t = torch.tensor(x, requires_grad=True)
        (xd.as_torch(picklable_sc2, **options)(t) ** 2).backward()
        assert relative(t.grad.numpy(), exact) < 1e-7


def test_empty_batches(jax, torch):
    """(0, n): no call of func, values (0, m) and gradients (0, n) (the gradient and
    backward raised in reshapes)."""
    jnp = jax.numpy
    f = xd.as_jax(simulator)
    empty = jnp.zeros((0, 3))
    assert f(empty).shape == (0, 3)
    assert jax.grad(lambda X: f(X).sum())(empty).shape == (0, 3)
    t = torch.zeros((0, 3), dtype=torch.float64, requires_grad=True)
    for g in (xd.as_torch(simulator), xd.as_torch(simulator, vectorized=False)):
        y = g(t)
        assert tuple(y.shape) == (0, 3)
        y.sum().backward()
        assert tuple(t.grad.shape) == (0, 3)


def test_complex_x_is_refused(jax, torch):
    """Not its real part, silently (JAX and torch dropped the imaginary part with a
    warning; torch's complex128 became float32)."""
    with pytest.raises(TypeError, match="x must be real, got dtype complex128"):
        xd.as_jax(simulator)(jax.numpy.asarray(X + 1j))
    with pytest.raises(TypeError, match=r"x must be real, got dtype torch\.complex128"):
        xd.as_torch(simulator)(torch.tensor(X + 1j))
    with pytest.raises(TypeError, match="x must be real"):
        xd.as_torch(simulator)(X + 1j)


def test_x_without_a_coordinate_is_refused(jax, torch):
    """A last axis of length 0, as jacobian refuses it: func saw ones(0) and raised its own
    IndexError."""
    calls = []

    def f(z):
        calls.append(z.shape)
        return np.stack([z[0], z[0] ** 2])

    with pytest.raises(ValueError, match="x must have at least one coordinate"):
        xd.as_jax(f)(jax.numpy.ones(0))
    with pytest.raises(ValueError, match="x must have at least one coordinate"):
        xd.as_torch(f)(torch.ones((3, 0), dtype=torch.float64))
    assert calls == []


def test_batch_check_with_a_func_that_writes_to_its_points(torch):
    """func may write to the points it gets: the check's point alone is x's own copy."""

    def scribbles(h):
        value = np.stack([np.sin(h[0]) * h[1], h[0] + h[1]])
        h[...] = 7.0  # a finite scribble: the value alone at it would differ
        return value

    points = np.array([[0.5, 0.2], [1.5, -0.3], [2.0, 1.0]])
    x = torch.tensor(points)
    y = xd.as_torch(scribbles)(x)
    exact = np.stack([np.sin(points[:, 0]) * points[:, 1], points.sum(axis=1)], axis=1)
    assert np.allclose(y.numpy(), exact, rtol=1e-15)
    assert np.array_equal(x.numpy(), points)


def test_batch_check_values_near_zero_and_one_sided_sentinel(torch):
    """Values that are all rounding (a constraint at feasible points) were refused: the
    tolerance took their scale alone, not the sentinel's; the sentinel follows side, and
    an error of func on the batch says which points xpdiff added."""

    def constraint(h):
        return np.sum(h * h, axis=0) - 1.0

    points = np.random.default_rng(1).standard_normal((3, 10))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    assert np.max(np.abs(xd.as_torch(constraint)(torch.tensor(points)).numpy())) < 1e-15

    def probability(p):
        if np.any(p > 1) or np.any(p < 0):
            raise ValueError("p must be a probability")
        return np.log1p(-0.5 * p)

    batch = np.array([[0.95, 0.2], [0.5, 0.5]])
    below = xd.as_torch(probability, side=[-1, -1])(torch.tensor(batch))
    assert np.allclose(below.numpy(), np.log1p(-0.5 * batch), rtol=1e-15)
    with pytest.raises(ValueError, match="p must be a probability") as info:
        xd.as_torch(probability)(torch.tensor(batch))
    assert any(
        "xpdiff added two points to the 2 of this batch" in note for note in info.value.__notes__
    )


@pytest.mark.parametrize(
    ("func", "match"),
    [
        (lambda h: [h[0], h[1]], "returned a builtins.list"),
        (lambda h: h * (1 + 1j), "complex values"),
        (lambda h: None, "returned NoneType"),
    ],
)
def test_values_checked_as_jacobian_checks_them(torch, func, match):
    """The values took what np.asarray made of func's result: a list passed (and the
    backward then raised), complex values lost their imaginary part with a warning."""
    with pytest.raises(xd.errors.ResultTypeError, match=match):
        xd.as_torch(func)(torch.tensor([1.0, 2.0], dtype=torch.float64))
