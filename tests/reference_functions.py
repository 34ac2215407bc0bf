"""Python twins of the functions in tests/reference/make_numderiv_fixtures.R.

Each takes ``xp`` and returns a vectorized function: coordinates on axis 0,
evaluation points on the trailing axes (the elementwise ones act elementwise).
"""

from __future__ import annotations


def _weights(xp, x):
    """1, 2, ..., n along axis 0, shaped to broadcast against x."""
    n = x.shape[0]
    w = xp.arange(1, n + 1, dtype=x.dtype, device=x.device if hasattr(x, "device") else None)
    return xp.reshape(w, (n,) + (1,) * (x.ndim - 1))


def make(name, xp):
    def sin(x):
        return xp.sin(x)

    def sum_sin(x):
        return xp.sum(xp.sin(x), axis=0)

    def func1(x):
        return xp.sin(10 * x) - xp.exp(-x)

    def sc2(x):
        n = x.shape[0]
        return xp.sum(_weights(xp, x) * (xp.exp(x) - x), axis=0) / n

    def rosenbrock(x):
        return xp.sum(100 * (x[1:, ...] - x[:-1, ...] ** 2) ** 2 + (1 - x[:-1, ...]) ** 2, axis=0)

    def cubic_mix(x):
        return xp.sum(x**3, axis=0) + x[0, ...] * x[1, ...] - 2 * x[-1, ...]

    def exp_cos(x):
        return xp.sum(xp.exp(x) * xp.cos(x), axis=0)

    def log_quad(x):
        return xp.sum(xp.log(1 + x**2), axis=0) + x[0, ...] * x[1, ...]

    def exp_elem(x):
        return xp.exp(x)

    def xexp(x):
        return xp.sum(x * xp.exp(x), axis=0)

    def gauss(x):
        return xp.exp(-xp.sum(x**2, axis=0) / 2)

    def vec_m2n3(x):
        return xp.stack([x[0, ...] * x[1, ...] * x[2, ...], xp.sin(x[0, ...]) + x[1, ...] ** 2])

    def vec_m3n3(x):
        return xp.stack(
            [xp.exp(x[0, ...]) - x[1, ...], x[0, ...] * x[1, ...], xp.sin(x[2, ...]) * x[0, ...]]
        )

    def vec_m4n2(x):
        a, b = x[0, ...], x[1, ...]
        return xp.stack([a**2, a * b, xp.cos(b), xp.exp(a + b)])

    def func2(x):
        return xp.concat([xp.sin(x), xp.cos(x)], axis=0)

    def gend_doc(x):
        return xp.stack([x[0, ...], x[0, ...], x[1, ...] ** 2])

    def cubic3(x):
        return xp.sum(x**3, axis=0) + x[0, ...] * x[1, ...] * x[2, ...]

    def expcos2(x):
        return xp.exp(x[0, ...]) * xp.cos(x[1, ...]) + x[0, ...] * x[1, ...] ** 2

    def vec_m2n2(x):
        return xp.stack([x[0, ...] * x[1, ...], xp.exp(x[0, ...] - x[1, ...] ** 2)])

    return locals()[name]


def exact_gradient(name, x):
    """Exact gradients with NumPy, for the functions that have a short formula."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    if name == "sin":
        return np.cos(x)
    if name == "sum_sin":
        return np.cos(x)
    if name == "func1":
        return 10 * np.cos(10 * x) + np.exp(-x)
    if name == "sc2":
        return np.arange(1, n + 1) * (np.exp(x) - 1) / n
    if name == "cubic_mix":
        g = 3 * x**2
        g[0] += x[1]
        g[1] += x[0]
        g[-1] -= 2
        return g
    if name == "exp_cos":
        return np.exp(x) * (np.cos(x) - np.sin(x))
    if name == "exp_elem":
        return np.exp(x)
    if name == "xexp":
        return (1 + x) * np.exp(x)
    if name == "gauss":
        return -x * np.exp(-np.sum(x**2) / 2)
    raise KeyError(name)
