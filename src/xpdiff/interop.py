"""Black boxes inside autodiff: ``as_jax`` and ``as_torch``.

A function that JAX or PyTorch cannot differentiate — it calls NumPy, C, a
simulator — becomes a function of their arrays whose derivatives xpdiff
computes: the values come from the black box on the host, and the
derivative rule multiplies by a Jacobian that :func:`~xpdiff.jacobian`
computes from the black box (all its points in one batched call). JAX gets
a ``custom_jvp`` (so ``jax.grad``, ``jacfwd``, ``jacrev``, ``jit`` and
``vmap`` all work: the rule is linear in the tangent, which JAX transposes
for reverse mode) whose values and Jacobian come through
``jax.pure_callback``; PyTorch gets a ``torch.autograd.Function`` whose
backward is the vector-Jacobian product. The libraries are reached through
``_backend`` (``jax_module``, ``torch_module``) only when a wrapper is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _backend, _budget, _validation
from ._function import mixing as _mixing
from ._function import settings as _settings
from ._function.evaluators import COMPLEX_VALUES, check_batch_shape, check_workers
from ._function.first import jacobian
from ._function.func_values import as_values
from ._function.layout import in_flight
from .errors import ResultTypeError

__all__ = ["as_jax", "as_torch"]

#: the keywords of :func:`~xpdiff.jacobian` that a wrapper passes on
OPTIONS = (
    "method",
    "side",
    "method_args",
    "args",
    "kwargs",
    "vectorized",
    "max_batch",
    "workers",
)


def _check_options(options: dict) -> str:
    """The wrapper's options as :func:`~xpdiff.jacobian` checks them (``side``'s length,
    which is x's, at the first derivative; ``args`` and ``kwargs`` in
    :class:`_BlackBox`): a bad one is a TypeError or
    ValueError when the wrapper is made; inside JAX's callback it became JAX's own
    runtime error at the first derivative. Returns the method's name."""
    method = _settings.canonical_method(
        options.get("method", "Richardson"), _settings.METHODS, "jacobian"
    )
    _settings.method_settings(method, options.get("method_args"))
    _validation.check_bool("vectorized", options.get("vectorized", True))
    _validation.check_max_batch(options.get("max_batch"))
    check_workers(options.get("workers"))
    side = options.get("side")
    if side is not None:  # its values: NaN or None, +1, -1 (as many as it has)
        _validation.sides(side, 1 if np.isscalar(side) else np.asarray(side, dtype=object).size)
    return method


#: the note on an error of func on a batch that holds the mixing check's two points
ADDED = (
    "xpdiff added {added} to the {count} of this batch, as xd.jacobian does once per "
    "n, for the check that func does not mix the points of a batch: {which}a sentinel, "
    "the first point moved by 0.0625 (|x| + 1) on every coordinate (towards the "
    "coordinate's side where side gives one)"
)
#: ADDED's words for the points added: a copy of the first point and the sentinel, or
#: (max_batch 2) the sentinel alone, the first point its own copy
ADDED_POINTS = {
    True: {"added": "two points", "which": "a copy of the first point, and "},
    False: {"added": "one point", "which": "the first point serving as its own copy, and "},
}


SECOND_DERIVATIVES = (
    "the wrapper's derivative is not differentiable in {library}: a derivative of its "
    "derivative (a second derivative, a Hessian, create_graph=True, or a forward-mode "
    "product built from two reverse ones, as torch.autograd.functional.jvp) would miss "
    "the black box's second derivatives; take second derivatives with xd.hessian or "
    "xd.hvp on func, and products with xd.jvp"
)


class _BlackBox:
    """func on host float64 arrays of shape ``(*batch, n)``: its values and Jacobians."""

    def __init__(self, func: Callable[..., Any], options: dict, where: str):
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise TypeError(
                f"{where}() got unexpected options {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(OPTIONS)}"
            )
        self.func = func
        self.options = options
        self.method = _check_options(options)  # when the wrapper is made, not in a callback
        # as jacobian takes them: the values and the derivatives get the same arguments
        self.args, kwargs = _validation.func_arguments(
            options.get("args", ()), options.get("kwargs")
        )
        self.kwargs = dict(kwargs)
        self.vectorized = options.get("vectorized", True)
        self.out_shapes: dict[int, tuple[int, ...]] = {}
        self.not_mixing: set[int] = set()  # the n at which func passed the mixing check

    def _call(self, x: np.ndarray) -> np.ndarray:
        """func at x, checked as xd.jacobian checks it (a list, None, another library's
        array or complex values: a ResultTypeError), in float64."""
        value = as_values(
            _backend.numpy_namespace(), self.func(x, *self.args, **self.kwargs), None
        )
        if value.dtype.kind == "c":  # not its real part, silently
            raise ResultTypeError(COMPLEX_VALUES.format(dtype=value.dtype))
        return np.asarray(value, dtype=np.float64)

    def out_shape(self, n: int) -> tuple[int, ...]:
        """The shape of func's value at one point (func called once, at ones, per n)."""
        if n == 0:  # as jacobian refuses it, before func sees ones(0)
            raise ValueError("x must have at least one coordinate, got a last axis of length 0")
        if n not in self.out_shapes:
            self.out_shapes[n] = tuple(self._call(np.ones(n)).shape)
        return self.out_shapes[n]

    def values(self, x: Any) -> np.ndarray:
        """func at each point of ``x`` ``(*batch, n)``: ``(*batch, *out)``, float64."""
        x = np.array(x, dtype=np.float64, copy=True)  # xpdiff's own: func may write to it
        batch, n = x.shape[:-1], x.shape[-1]
        out = self.out_shape(n)
        if not batch:
            return np.reshape(self._call(x), out)
        points = np.reshape(x, (-1, n))
        if points.shape[0] == 0:  # an empty batch: func is not called
            return np.zeros((*batch, *out))
        if self.vectorized:
            value = np.moveaxis(self._batches(np.ascontiguousarray(points.T), out), -1, 0)
        else:
            value = np.stack([np.reshape(self._call(p.copy()), (-1,)) for p in points])
        return np.reshape(value, (*batch, *out))

    def _batches(self, points: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
        """func on ``points`` ``(n, P)`` in calls of at most ``max_batch`` points, and
        of as many as the memory budget holds (the engine's rule,
        ``layout.in_flight``, over what the batch's points and values leave, or a
        quarter of the budget), the check's two in the first (a limit of 2: the
        sentinel alone beside the first point; 1: no check, func cannot mix
        points): ``(m, P)``."""
        n, total = points.shape
        width = 8 * (n + math.prod(out))  # float64 points and values, per point
        budget = _budget.get_memory_budget(points)
        # what the batch's points and values leave; at least a quarter of the budget
        # (as point_chunks gives: the batch itself cannot be smaller)
        limit = in_flight(max(budget - width * total, budget // 4), width)
        if self.options.get("max_batch") is not None:
            limit = min(limit, self.options["max_batch"])
        check = n not in self.not_mixing
        if total + 2 * check <= limit:
            return self._batch(points, out, check)
        parts, start = [], 0
        if check and limit >= 2:
            start = max(1, limit - 2)
            parts.append(self._batch(points[:, :start], out, True, own_copy=limit >= 3))
        for b in range(start, total, limit):
            chunk = np.ascontiguousarray(points[:, b : b + limit])
            parts.append(self._batch(chunk, out, False))
        return np.concatenate(parts, axis=1)

    def _batch(
        self, points: np.ndarray, out: tuple[int, ...], check: bool, own_copy: bool = True
    ) -> np.ndarray:
        """func on the batch ``points`` ``(n, P)``, checked as :func:`~xpdiff.jacobian`
        checks its calls: ``(m, P)``.

        The values must have the shape ``(*out, P)`` (else the BatchShapeError that
        points to ``vectorized=False``). The first batch at each n also holds a copy of
        its first point and a sentinel (``mixing``'s, which shifts reductions over the
        batch), and func at that point alone must give the copy its value, to rounding
        or to func's own noise (``mixing.copy_differs``, ``mixing.noise_explains``):
        else func mixes the points (``np.sum(x)`` without ``axis=0``), and the
        ValueError says so, where the values would be wrong without a word. Without
        ``own_copy`` (a call of two points at most) the first point is its own copy.
        """
        n, count = points.shape
        if check:
            x0 = points[:, 0].copy()
            sides = _validation.sides(self.options.get("side"), n)
            direction = _mixing.direction_for(sides, self.method, n)
            sentinel = x0 + direction * (np.abs(x0) + 1.0)
            extra = [x0[:, None], sentinel[:, None]] if own_copy else [sentinel[:, None]]
            points = np.concatenate([points, *extra], axis=1)
        try:
            value = self._call(points)
            check_batch_shape(value, out, points.shape[1], points.shape)
        except Exception as exc:
            if check:  # points func was not given: say where they come from
                exc.add_note(ADDED.format(count=count, **ADDED_POINTS[own_copy]))
            raise
        value = np.reshape(value, (math.prod(out), points.shape[1]))
        if not check:
            return value
        kept, copy_value = value[:, :count], value[:, count if own_copy else 0]
        alone = np.reshape(self._call(x0.copy()), (-1,))  # x0: not handed to func before
        tolerance = math.sqrt(np.finfo(np.float64).eps)
        # the scale of rounding: the batch's values and the sentinel's, which moves every
        # coordinate (values all near 0, a constraint at feasible points, have no other)
        others = np.delete(value, count, axis=1) if own_copy else value
        scale = _mixing.output_scale(np, others, alone)
        differs = _mixing.copy_differs(np, copy_value, alone, scale, tolerance)
        if np.any(differs):
            again = np.reshape(self._call(x0.copy()), (-1,))
            if not _mixing.noise_explains(np, copy_value, alone, again, differs, scale):
                raise ValueError(_mixing.MESSAGE)
        self.not_mixing.add(n)
        return kept

    def jacobians(self, x: Any) -> np.ndarray:
        """The Jacobian at each point of ``x`` ``(*batch, n)``: ``(*batch, *out, n)``."""
        x = np.array(x, dtype=np.float64, copy=True)
        batch, n = x.shape[:-1], x.shape[-1]
        out = self.out_shape(n)
        if 0 in batch:  # an empty batch: func is not called
            return np.zeros((*batch, *out, n))
        points = np.ascontiguousarray(np.reshape(x, (-1, n)).T)  # (n, P): one batched call
        J = jacobian(self.func, points if batch else points[:, 0], **self.options)
        J = np.reshape(np.asarray(J), (math.prod(out), n, -1))  # (m, n, P)
        return np.reshape(np.moveaxis(J, -1, 0), (*batch, *out, n))

    def check(self, shape: tuple) -> int:
        if len(shape) < 1:
            raise ValueError(f"x must have shape (n,) or (*batch, n), got shape {shape}")
        return int(shape[-1])


def as_jax(func: Callable[..., Any], **options: Any) -> Callable[[Any], Any]:
    """A black-box function made usable under ``jax.jit``, ``jax.grad`` and ``jax.vmap``.

    ``func`` is any function of NumPy arrays that JAX cannot trace (it
    calls NumPy, C, a simulator), in xpdiff's function-mode convention: a
    point of shape ``(n,)``, or a batch ``(n, P)`` with the points on the
    last axis (``vectorized=False``: points only). The wrapper takes JAX
    arrays of shape ``(n,)`` or ``(*batch, n)`` and returns ``(*batch,
    *out)``, func's value at each point, in x's dtype; its derivatives are
    :func:`~xpdiff.jacobian`'s, so it works under ``jax.grad``,
    ``jax.jacfwd``, ``jax.jacrev``, ``jax.jit`` and ``jax.vmap``.

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)`` of host (NumPy) float64 arrays. It is
        called once on ``ones(n)`` to learn its output's shape.
    **options
        :func:`~xpdiff.jacobian`'s keywords: ``method``, ``side``,
        ``method_args``, ``args``, ``kwargs``, ``vectorized``,
        ``max_batch``, ``workers``. ``max_batch`` and the memory budget
        (:func:`~xpdiff.memory_budget`) bound the values' calls too; the
        values are computed in the calling process (``workers`` serves the
        Jacobian).

    Returns
    -------
    f : callable
        ``f(x)`` of JAX arrays.

    Notes
    -----
    Values and Jacobians are computed on the host in float64 through
    ``jax.pure_callback`` (``vmap_method="expand_dims"``: a vmapped call
    is one call of func on the whole batch, and one batched Jacobian). The
    derivative rule is a ``custom_jvp`` whose tangent is ``J(x) @ dx``,
    linear in dx, which JAX transposes for reverse mode. Higher derivatives
    (``jax.hessian`` of the wrapper, a gradient of its gradient) raise a
    NotImplementedError (a RuntimeError) that points to
    :func:`~xpdiff.hessian` and :func:`~xpdiff.hvp`: the Jacobian's callback
    has no derivative rule. The options are checked when the wrapper is made
    (``side``'s length, x's, at the first derivative). A
    batch's values are checked as :func:`~xpdiff.jacobian` checks its
    calls: their shape ``(*out, P)``, and at the first batch of each n, from
    a copy of its first point and a sentinel, that func does not mix the
    points (``np.sum(x)`` without ``axis=0``: a ValueError, raised inside
    JAX's callback, so it arrives as the JaxRuntimeError below, its message
    in it); an empty batch calls func only for the output's shape (once per
    n, at ``ones(n)``); a complex x is a TypeError; x
    without a coordinate (a last axis of length 0) is a ValueError, before
    func is called. An exception that func raises inside a callback reaches
    the caller as JAX's
    ``jax.errors.JaxRuntimeError``, with func's traceback in its message:
    JAX's callbacks do not raise Python exceptions
    as themselves (:func:`as_torch` does; so does the wrapper's first call,
    which learns the output's shape outside JAX).

    Examples
    --------
    >>> import jax, jax.numpy as jnp, numpy as np
    >>> import xpdiff as xd
    >>> def simulator(x):  # NumPy only: JAX cannot trace it
    ...     return np.stack([np.sin(x[0]) * x[1], np.exp(x[1])])
    >>> f = xd.as_jax(simulator)
    >>> loss = jax.jit(lambda x: jnp.sum(f(x) ** 2))
    >>> x = jnp.array([0.5, 0.2])
    >>> g = jax.grad(loss)(x)
    >>> s, e = np.sin(0.5) * 0.2, np.exp(0.2)
    >>> exact = [2 * s * np.cos(0.5) * 0.2, 2 * s * np.sin(0.5) + 2 * e * e]
    >>> bool(np.allclose(np.asarray(g), exact, rtol=1e-6))
    True
    """
    box = _BlackBox(func, options, "as_jax")
    jax = _backend.jax_module()
    jnp = jax.numpy

    def value_of(x: Any) -> Any:
        out = box.out_shape(box.check(x.shape))
        shape = jax.ShapeDtypeStruct((*x.shape[:-1], *out), x.dtype)

        def host(xh: Any) -> np.ndarray:
            return np.asarray(box.values(xh), dtype=shape.dtype)

        return jax.pure_callback(host, shape, x, vmap_method="expand_dims")

    @jax.custom_jvp
    def jacobian_of(x: Any) -> Any:
        n = box.check(x.shape)
        shape = jax.ShapeDtypeStruct((*x.shape[:-1], *box.out_shape(n), n), x.dtype)

        def host(xh: Any) -> np.ndarray:
            return np.asarray(box.jacobians(xh), dtype=shape.dtype)

        return jax.pure_callback(host, shape, x, vmap_method="expand_dims")

    @jacobian_of.defjvp
    def second(primals: tuple, tangents: tuple) -> tuple:
        # JAX's own error ("Pure callbacks do not support JVP. Please use
        # jax.custom_jvp") pointed to what the wrapper already is
        raise NotImplementedError(SECOND_DERIVATIVES.format(library="JAX"))

    @jax.custom_jvp
    def wrapped(x: Any) -> Any:
        return value_of(x)

    @wrapped.defjvp
    def rule(primals: tuple, tangents: tuple) -> tuple:
        (x,), (dx,) = primals, tangents
        y = wrapped(x)  # its own rule: a second derivative meets jacobian_of's
        J = jacobian_of(x)  # (*batch, *out, n)
        n = x.shape[-1]
        batch = x.shape[:-1]
        m = math.prod(y.shape[len(batch) :])  # explicit: an empty batch has no -1
        Jr = jnp.reshape(J, (math.prod(batch), m, n))
        dy = jnp.einsum("pmn,pn->pm", Jr, jnp.reshape(dx, (math.prod(batch), n)))
        return y, jnp.reshape(dy, y.shape)

    def f(x: Any) -> Any:
        x = jnp.asarray(x)
        if jnp.issubdtype(x.dtype, jnp.complexfloating):  # not its real part, silently
            raise TypeError(f"x must be real, got dtype {x.dtype}")
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        return wrapped(x)

    f.__doc__ = f"{getattr(func, '__name__', 'func')} as a JAX function (xpdiff.as_jax)."
    return f


def as_torch(func: Callable[..., Any], **options: Any) -> Callable[[Any], Any]:
    """A black-box function made usable under ``torch.autograd``.

    ``func`` is any function of NumPy arrays (xpdiff's function-mode
    convention, as in :func:`as_jax`); the wrapper takes a tensor of shape
    ``(n,)`` or ``(*batch, n)`` and returns ``(*batch, *out)`` in x's dtype
    and device, through a ``torch.autograd.Function`` whose backward is the
    vector-Jacobian product ``g @ J(x)`` with J from :func:`~xpdiff.jacobian`
    (all its points in one batched call per backward). It works with
    ``loss.backward()``, ``torch.autograd.grad`` and
    ``torch.autograd.gradcheck`` (float64).

    Parameters
    ----------
    func : callable
        As in :func:`as_jax`: a function of host (NumPy) float64 arrays,
        called once on ``ones(n)`` to learn its output's shape.
    **options
        As in :func:`as_jax`: :func:`~xpdiff.jacobian`'s keywords.

    Returns
    -------
    f : callable
        ``f(x)`` of tensors.

    Notes
    -----
    A batch's values, the options and x are checked as in :func:`as_jax`.
    The backward is once differentiable: a backward with
    ``create_graph=True`` through the wrapper (a second derivative,
    ``torch.autograd.functional.hessian``) raises a RuntimeError, instead of
    giving second derivatives without the black box's terms.

    Examples
    --------
    >>> import numpy as np, torch
    >>> import xpdiff as xd
    >>> f = xd.as_torch(lambda x: np.stack([np.sin(x[0]) * x[1], np.exp(x[1])]))
    >>> x = torch.tensor([0.5, 0.2], dtype=torch.float64, requires_grad=True)
    >>> f(x).pow(2).sum().backward()
    >>> s, e = np.sin(0.5) * 0.2, np.exp(0.2)
    >>> exact = [2 * s * np.cos(0.5) * 0.2, 2 * s * np.sin(0.5) + 2 * e * e]
    >>> bool(np.allclose(x.grad.numpy(), exact, rtol=1e-6))
    True
    """
    box = _BlackBox(func, options, "as_torch")
    torch = _backend.torch_module()

    def host(t: Any) -> np.ndarray:  # float64 first: NumPy has no bfloat16
        return np.array(t.detach().cpu().to(torch.float64).numpy(), copy=True)

    function: Any = torch.autograd.Function

    class BlackBox(function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            box.check(tuple(x.shape))
            ctx.save_for_backward(x)
            return torch.as_tensor(box.values(host(x)), dtype=x.dtype, device=x.device)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            if torch.is_grad_enabled():  # create_graph=True: its derivative would be zero
                raise RuntimeError(SECOND_DERIVATIVES.format(library="PyTorch"))
            (x,) = ctx.saved_tensors
            J = box.jacobians(host(x))  # (*batch, *out, n)
            n = J.shape[-1]
            batch = tuple(x.shape[:-1])
            P = math.prod(batch)
            m = math.prod(J.shape[len(batch) : -1])  # explicit: an empty batch has no -1
            g = np.reshape(host(grad_output), (P, m))
            vjp = np.einsum("pm,pmn->pn", g, np.reshape(J, (P, m, n)))
            return torch.as_tensor(np.reshape(vjp, x.shape), dtype=x.dtype, device=x.device)

    def f(x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            # a NumPy float array keeps its dtype (float32 came back float64); other data
            # (lists, integers) is float64, as NumPy makes it
            floating = isinstance(x, np.ndarray) and x.dtype.kind == "f"
            # a copy: torch takes no NumPy array of negative strides (x[::-1])
            x = torch.as_tensor(np.array(x, copy=True) if isinstance(x, np.ndarray) else x)
            if not x.is_complex() and not floating:
                x = x.to(torch.float64)
        if x.is_complex():  # not its real part, silently
            raise TypeError(f"x must be real, got dtype {x.dtype}")
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        return BlackBox.apply(x)

    f.__doc__ = f"{getattr(func, '__name__', 'func')} as a PyTorch function (xpdiff.as_torch)."
    return f
