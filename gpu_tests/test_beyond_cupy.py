"""derivative, jvp and hvp on CuPy, and as_torch / as_jax with tensors on the GPU.

Issue 23's functions on a real device: results of x's library, on x's device, in
x's dtype, against exact derivatives and against xd.jacobian and xd.hessian on the
same device, with no device-to-host synchronisation inside derivative, jvp and hvp;
the black-box wrappers with CUDA tensors and JAX arrays on the GPU.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from helpers import on_gpu

import xpdiff as xd

#: (method, n) -> the largest error |d - exact| / max(|exact|, 1) allowed in float64
TOLERANCE = {1: 1e-9, 2: 1e-8, 3: 1e-6, 4: 1e-5}


@pytest.mark.parametrize("method", ["adaptive", "Richardson"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_derivative_of_order_n_on_the_gpu(cp, no_sync, method, order):
    xh = np.linspace(0.5, 3.0, 2001)
    x = cp.asarray(xh)
    with no_sync():
        d = xd.derivative(cp.sin, x, n=order, method=method)
    values = on_gpu(cp, d, x, np.float64, x.shape)
    exact = np.sin(xh + order * np.pi / 2)
    assert np.max(np.abs(values - exact) / np.maximum(np.abs(exact), 1.0)) < TOLERANCE[order]


def test_derivative_float32_and_a_batch_shape(cp):
    xh = np.linspace(0.5, 3.0, 600).reshape(20, 30)
    x = cp.asarray(xh, dtype=cp.float32)
    d = xd.derivative(cp.exp, x, n=2)
    values = on_gpu(cp, d, x, np.float32, x.shape)
    assert np.max(np.abs(values - np.exp(xh)) / np.exp(xh)) < 1e-3


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_jvp_is_the_jacobian_times_v_on_the_gpu(cp, no_sync, method):
    rng = np.random.default_rng(3)
    n, m, k = 200, 30, 3
    A = cp.asarray(rng.standard_normal((m, n)) / np.sqrt(n))
    x = cp.asarray(rng.uniform(0.5, 1.5, n))
    v = cp.asarray(rng.standard_normal((n, k)))

    def f(z):
        return cp.tanh(cp.tensordot(A, z, axes=(1, 0)))

    with no_sync():
        jv = xd.jvp(f, x, v, method)
        res = xd.jvp(f, x, v, method, full_output=True)
    product = on_gpu(cp, jv, x, np.float64, (m, k))
    reference = cp.asnumpy(xd.jacobian(f, x, method) @ v)
    assert np.max(np.abs(product - reference)) / np.max(np.abs(reference)) < 1e-8
    assert res.nfev <= 2 * 4 * k + 1  # 2 r k + 1 points, whatever n


def test_hvp_is_the_hessian_times_v_on_the_gpu(cp, no_sync):
    rng = np.random.default_rng(4)
    n = 60
    x = cp.asarray(rng.uniform(-1.0, 1.0, n))
    v = cp.asarray(rng.standard_normal((n, 2)))

    def rosenbrock(z):
        return cp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2, axis=0)

    with no_sync():
        hv = xd.hvp(rosenbrock, x, v)
    product = on_gpu(cp, hv, x, np.float64, (n, 2))
    z, w = cp.asnumpy(x), cp.asnumpy(v)
    exact = np.zeros((n, 2))  # Rosenbrock's Hessian times w, term by term
    exact[:-1] += (1200 * z[:-1, None] ** 2 - 400 * z[1:, None] + 2) * w[:-1] - 400 * z[
        :-1, None
    ] * w[1:]
    exact[1:] += -400 * z[:-1, None] * w[:-1] + 200 * w[1:]
    assert np.max(np.abs(product - exact)) / np.max(np.abs(exact)) < 1e-8
    # the Hessian on the GPU agrees with it as far as numDeriv's relative steps allow
    reference = cp.asnumpy(xd.hessian(rosenbrock, x) @ v)
    assert np.max(np.abs(product - reference)) / np.max(np.abs(reference)) < 1e-5


def _simulator(z):
    """A black box in NumPy: f(z) = sum(sin(z) * z**2), one point at a time."""
    z = np.asarray(z, dtype=np.float64)
    return np.sum(np.sin(z) * z**2, axis=0)


def _exact_gradient(z):
    return np.cos(z) * z**2 + 2 * z * np.sin(z)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_as_torch_with_cuda_tensors(cp):
    import torch

    if not torch.cuda.is_available():
        pytest.fail("torch sees no CUDA device where CuPy does")
    layer = xd.as_torch(_simulator)
    zh = np.linspace(-1.0, 2.0, 7)
    z = torch.tensor(zh, dtype=torch.float64, device="cuda", requires_grad=True)
    loss = 3.0 * layer(z)
    loss.backward()
    assert z.grad.device == z.device
    assert z.grad.dtype == torch.float64
    got = z.grad.cpu().numpy()
    exact = 3.0 * _exact_gradient(zh)
    assert np.max(np.abs(got - exact)) / np.max(np.abs(exact)) < 1e-7


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_as_jax_under_jit_on_the_gpu(cp):
    import jax

    jax.config.update("jax_enable_x64", True)
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus:
        pytest.fail("jax sees no GPU where CuPy does")
    layer = xd.as_jax(_simulator)
    zh = np.linspace(-1.0, 2.0, 7)
    z = jax.device_put(jax.numpy.asarray(zh), gpus[0])
    grad = jax.jit(jax.grad(lambda t: 3.0 * layer(t)))(z)
    assert next(iter(grad.devices())).platform == "gpu"
    exact = 3.0 * _exact_gradient(zh)
    assert np.max(np.abs(np.asarray(grad) - exact)) / np.max(np.abs(exact)) < 1e-7
