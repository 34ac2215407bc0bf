"""The compiled PyTorch programs (numpy.gradient's everyday call on a tensor).

Each case is compared to the bit with the general path of plans and the
generic executor (``periodic=np.False_`` is a NumPy bool, which the compiled
path leaves to the general one) and, where the formulas are numpy's, with
numpy.gradient on the same values: dtype, shape, every value, NaN where NaN
and the sign of zeros and infinities.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require

import xpdiff as xd
from xpdiff._array import executors

torch = require("torch")

RNG = np.random.default_rng(11)

SHAPES = [(3,), (4,), (10,), (1000,), (5, 7), (6, 5, 4), (2, 300)]
SPACINGS = [(), (0.1,), (0.25,), (0.5,), (3,), (-2.0,), (1e-310,), (0.0,), (-0.0,)]


def _data(shape, dtype):
    if dtype in (torch.int32, torch.int64):
        return torch.asarray(RNG.integers(-1000, 1000, shape)).to(dtype)
    values = RNG.standard_normal(shape) * np.exp(RNG.uniform(-30, 30, shape))
    values.flat[0] = np.inf
    values.flat[-1] = np.nan
    if values.size > 4:
        values.flat[2] = -0.0
    return torch.asarray(values).to(dtype)


def _outcome(function, *args, **kwargs):
    """``function(*args, **kwargs)``, or its error (h = 0 with edge_order=2, short axes)."""
    try:
        return function(*args, **kwargs)
    except (ZeroDivisionError, ValueError) as error:
        return error


def _same_bits(got, expected):
    """``_same``, and every bit equal (NaNs' too): the general path's own operations."""
    _same(got, expected)
    if isinstance(expected, Exception):
        return
    for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (got, expected)), strict=True):
        integers = torch.int64 if a.dtype == torch.float64 else torch.int32
        assert torch.equal(a.view(integers), b.view(integers))


def _same(got, expected):
    if isinstance(expected, Exception):
        assert type(got) is type(expected)
        assert str(got) == str(expected)
        return
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert type(a) is torch.Tensor
        assert (a.dtype, a.shape, a.device) == (b.dtype, b.shape, b.device)
        assert torch.equal(a.isnan(), b.isnan())
        assert torch.equal(torch.nan_to_num(a, nan=0.0), torch.nan_to_num(b, nan=0.0))
        numbers = ~a.isnan()  # a NaN's sign bit is not a result (numpy's and torch's differ)
        assert torch.equal(torch.signbit(a)[numbers], torch.signbit(b)[numbers])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64"])
@pytest.mark.parametrize("edge_order", [None, 1, 2])
def test_programs_match_the_general_path_to_the_bit(shape, dtype, edge_order):
    f = _data(shape, getattr(torch, dtype))
    kwargs = {} if edge_order is None else {"edge_order": edge_order}
    with np.errstate(all="ignore"):
        for varargs in SPACINGS:
            got = _outcome(xd.gradient, f, *varargs, **kwargs)
            _same_bits(got, _outcome(xd.gradient, f, *varargs, periodic=np.False_, **kwargs))
            reference = _outcome(np.gradient, f.numpy(), *varargs, **kwargs)
            if isinstance(reference, Exception):
                _same(got, reference)
            elif f.ndim > 1:
                _same(got, tuple(map(torch.asarray, reference)))
            else:
                _same(got, torch.asarray(reference))
        per_axis = [0.5 + k for k in range(f.ndim)]
        _same_bits(
            _outcome(xd.gradient, f, *per_axis, **kwargs),
            _outcome(xd.gradient, f, *per_axis, periodic=np.False_, **kwargs),
        )
        _same_bits(xd.gradient(f, axis=-1), xd.gradient(f, axis=-1, periodic=np.False_))
    program = executors.compiled_program(f, (), None, edge_order, 1, None, False)
    # shorter axes (a row between the edge rows is needed) take the general path
    assert (program is not None) == (min(shape) >= (edge_order or 1) + 2)


@pytest.mark.parametrize(
    ("make", "varargs", "kwargs"),
    [
        (lambda f: f.requires_grad_(), (), {}),  # autograd needs the general path
        (lambda f: f.to(torch.float16), (), {}),
        (lambda f: f.to(torch.complex128), (), {}),
        (lambda f: f, (torch.tensor(0.5, dtype=torch.float64),), {}),
        (lambda f: f, (np.float64(0.5),), {}),
        (lambda f: f, (np.linspace(0, 1, 6),), {}),
        (lambda f: f, (True,), {}),
        (lambda f: f, (1j,), {}),
        (lambda f: f, (), {"axis": [0]}),
        (lambda f: f, (), {"edge_order": 3}),
        (lambda f: f, (), {"edge_order": True}),
        (lambda f: f[:2], (), {}),
        (lambda f: torch.nn.Parameter(f), (), {}),
    ],
)
def test_other_calls_take_the_general_path(make, varargs, kwargs):
    f = make(torch.linspace(0.0, 1.0, 6, dtype=torch.float64))
    program = executors.compiled_program(
        f, varargs, kwargs.get("axis"), kwargs.get("edge_order"), 1, None, False
    )
    assert program is None


def test_general_path_calls_keep_their_results_and_errors():
    f = torch.linspace(0.0, 1.0, 6, dtype=torch.float64, requires_grad=True)
    g = xd.gradient(f)
    g.sum().backward()  # the general path keeps autograd's graph
    assert f.grad is not None
    with pytest.raises(ValueError, match="edge_order"):
        xd.gradient(f.detach(), edge_order=3)
    with pytest.raises(TypeError):
        xd.gradient(f.detach(), 0.5, 0.5)


def test_torch_func_transforms_take_the_general_path():
    f = torch.linspace(0.0, 1.0, 7, dtype=torch.float64) ** 2
    batch = torch.stack([f, 2 * f, -f])
    batched = torch.func.vmap(xd.gradient)(batch)  # out= has no batching rule
    _same_bits(batched, torch.stack([xd.gradient(row) for row in batch]))
    derivative = torch.func.grad(lambda g: (xd.gradient(g) ** 2).sum())(f)
    g = f.clone().requires_grad_()
    (xd.gradient(g) ** 2).sum().backward()
    _same_bits(derivative, g.grad)


def test_zero_spacings_keep_their_sign_on_every_path():
    f = torch.tensor([1.0, 3.0, 2.0, 5.0, 4.0], dtype=torch.float64)
    with np.errstate(divide="ignore"):
        for h in (0.0, -0.0, 0.0):  # the plans' cache once took -0.0 for 0.0
            expected = torch.asarray(np.gradient(f.numpy(), h))
            _same(xd.gradient(f, h), expected)
            _same(xd.gradient(f, h, periodic=np.False_), expected)
            _same(torch.asarray(xd.gradient(f.numpy(), h, periodic=np.False_)), expected)
