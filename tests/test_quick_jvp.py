"""jvp's quick path (``_function/quick_jvp``): the everyday call, planned once.

A func that passed the check that it does not mix points goes the quick way on
its later calls; its first call goes the general way. Each case compares the
quick path to the bit with the general path's one call (``kwargs={}``, which
the quick path leaves to the general one, on the same kind of call), and checks
that the quick path was taken, with the same call of func, checks and errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import assert_same_bits, quick_points

import xpdiff as xd
from xpdiff._function import quick_jvp
from xpdiff.errors import BatchShapeError, ResultTypeError

RNG = np.random.default_rng(23)


def vector(p):  # R^n -> R^3, each output mixing coordinates, never points
    return np.stack([np.sin(p[0] * p[-1]), np.sum(np.exp(0.1 * p), axis=0), p[0] ** 3 / 3])


def scalar(p):
    return 0.5 * np.sum(p * p, axis=0) + np.cos(p[0])


def elementwise(p):
    return np.tanh(p) + p**2


def matrix(p):  # outputs of shape (2, 2)
    return np.stack([np.stack([p[0], p[0] * p[-1]]), np.stack([np.sin(p[-1]), p[0] ** 2])])


@pytest.fixture
def quick_calls(monkeypatch):
    """The shapes of x of the products the quick path computed."""
    calls = []
    jvp = quick_jvp.Plan.jvp

    def counted(self, func, x, v):
        value = jvp(self, func, x, v)
        calls.append(x.shape if value is not None else None)
        return value

    monkeypatch.setattr(quick_jvp.Plan, "jvp", counted)
    return calls


@pytest.mark.parametrize("func", [vector, scalar, elementwise, matrix])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 64, 300])
def test_later_calls_are_the_general_paths_bits(func, n, quick_calls):
    x, v = quick_points(RNG, n), RNG.standard_normal(n)
    first = xd.jvp(func, x, v)  # checks func: the general path, x called on its own
    assert quick_calls == []
    quick = xd.jvp(func, x, v)
    assert quick_calls == [(n,)]
    assert_same_bits(quick, xd.jvp(func, x, v, kwargs={}))  # the general path's one call
    # the first call has func at x alone: a sum over x's axis alone rounds otherwise
    np.testing.assert_allclose(quick, first, rtol=1e-12, atol=1e-12)
    expected = {vector: (3,), scalar: (), elementwise: (n,), matrix: (2, 2)}[func]
    assert quick.shape == expected
    y, w = quick_points(RNG, n), 1e-3 * RNG.standard_normal(n)  # the plan, new numbers
    assert_same_bits(xd.jvp(func, y, w), xd.jvp(func, y, w, kwargs={}))
    assert quick_calls == [(n,), (n,)]


def test_the_product_is_j_v():
    x, v = quick_points(RNG, 20), RNG.standard_normal(20)
    xd.jvp(vector, x, v)
    value = xd.jvp(vector, x, v)
    np.testing.assert_allclose(value, xd.jacobian(vector, x) @ v, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize(
    "x",
    [np.zeros(5), np.full(5, 1e-9), np.array([1e-300, 0.0, -1e-300, 0.0, 1e-310])],
)
def test_x_near_zero_takes_the_absolute_step(x, quick_calls):
    v = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    xd.jvp(vector, x, v)
    assert_same_bits(xd.jvp(vector, x, v), xd.jvp(vector, x, v, kwargs={}))
    assert quick_calls == [(5,)]


@pytest.mark.parametrize(
    "v",
    [np.zeros(4), np.array([1.0, np.nan, 0.0, 1.0]), np.array([np.inf, 1.0, 0.0, 1.0])],
)
def test_a_direction_without_a_finite_largest_coordinate_goes_the_general_way(v, quick_calls):
    x = quick_points(RNG, 4)
    xd.jvp(vector, x, np.ones(4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning on either path
        general = xd.jvp(vector, x, v, kwargs={})
        assert_same_bits(xd.jvp(vector, x, v), general)
    assert quick_calls == [None]  # planned, declined before calling func
    assert np.isnan(general).any() == (not np.isfinite(v).all())


def test_non_finite_values_give_nan_as_on_the_general_path(quick_calls):
    def f(p):
        return np.stack([np.log(p[0]), 1.0 / p[1], np.sqrt(p[2])])

    x, v = np.array([0.0, 0.0, -1.0]), np.array([1.0, 1.0, 1.0])
    with np.errstate(all="ignore"):
        xd.jvp(f, np.ones(3), v)
        general = xd.jvp(f, x, v, kwargs={})
        quick = xd.jvp(f, x, v)
    assert quick_calls == [(3,)]
    assert_same_bits(quick, general)
    assert np.isnan(quick).all()


def test_func_gets_a_fresh_array_and_the_callers_arrays_stay(quick_calls):
    seen = []

    def f(p):
        seen.append(p)
        return vector(p)

    x, v = quick_points(RNG, 6), RNG.standard_normal(6)
    x0, v0 = x.copy(), v.copy()
    xd.jvp(f, x, v)
    seen.clear()
    xd.jvp(f, x, v)
    assert quick_calls == [(6,)]
    assert len(seen) == 1
    assert seen[0].shape == (6, 9)
    assert seen[0].flags.c_contiguous
    assert not np.shares_memory(seen[0], x)
    assert not np.shares_memory(seen[0], v)
    np.testing.assert_array_equal(seen[0][:, 0], x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(v, v0)


@pytest.mark.parametrize("kind", ["float32", "int"])
def test_values_of_other_dtypes_are_converted_as_on_the_general_path(kind, quick_calls):
    def f(p):
        value = vector(p)
        return value.astype(np.float32) if kind == "float32" else np.round(value).astype(int)

    x, v = quick_points(RNG, 5), RNG.standard_normal(5)
    xd.jvp(f, x, v)
    assert_same_bits(xd.jvp(f, x, v), xd.jvp(f, x, v, kwargs={}))
    assert quick_calls == [(5,)]


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (lambda value: value.tolist(), ResultTypeError, r"builtins\.list"),  # not an array
        (lambda value: value + 1j, ResultTypeError, "complex values"),
        (lambda value: value[:, :4], BatchShapeError, "batch shape"),  # a point short
    ],
)
def test_bad_values_get_the_general_paths_error(bad, error, match):
    state = {"bad": False}

    def f(p):
        return bad(vector(p)) if state["bad"] else vector(p)

    x, v = quick_points(RNG, 4), RNG.standard_normal(4)
    xd.jvp(f, x, v)
    assert quick_jvp.plan_for(f, x, v) is not None  # the first call below is quick
    state["bad"] = True
    with pytest.raises(error, match=match) as quick:
        xd.jvp(f, x, v)
    with pytest.raises(error) as general:
        xd.jvp(f, x, v, kwargs={})
    assert str(quick.value) == str(general.value)


def test_an_exception_of_func_propagates_as_itself():
    state = {"fail": False}

    class Mine(Exception):
        pass

    def f(p):
        if state["fail"]:
            raise Mine("mine")
        return vector(p)

    x, v = quick_points(RNG, 4), RNG.standard_normal(4)
    xd.jvp(f, x, v)
    state["fail"] = True
    with pytest.raises(Mine, match="mine"):
        xd.jvp(f, x, v)


def test_other_arguments_take_the_general_path(quick_calls):
    x, v = quick_points(RNG, 3), RNG.standard_normal(3)
    xd.jvp(vector, x, v)
    assert quick_jvp.plan_for(vector, x, v) is not None
    assert quick_jvp.plan_for(vector, x.astype(np.float32), v) is None
    assert quick_jvp.plan_for(vector, x, v.astype(np.float32)) is None
    assert quick_jvp.plan_for(vector, x, v.reshape(3, 1)) is None  # k directions
    assert quick_jvp.plan_for(lambda p: vector(p), x, v) is None  # not checked yet
    for kwargs in (
        {"method": "simple"},
        {"method": "complex"},
        {"method_args": {"r": 2}},
        {"max_batch": 100},
        {"full_output": True},
        {"vectorized": False},
    ):
        xd.jvp(vector, x, v, **kwargs)
    xd.jvp(vector, x, v.tolist())
    assert quick_calls == []


@pytest.mark.parametrize("budget", [2**10, 2**14, 2**27])
def test_the_memory_budget_is_part_of_the_plan(budget, quick_calls):
    x, v = quick_points(RNG, 40), RNG.standard_normal(40)
    with xd.memory_budget(budget):
        first = xd.jvp(elementwise, x, v)
        assert_same_bits(xd.jvp(elementwise, x, v), first)
        assert_same_bits(xd.jvp(elementwise, x, v, kwargs={}), first)
    # 9 columns of 40 coordinates and 40 outputs, 4 times over: 92160 bytes
    assert quick_calls == ([(40,)] if budget == 2**27 else [])


def test_a_plan_is_made_with_its_keys_budget():
    with xd.memory_budget(2**20):
        plan = quick_jvp.Plan(3, 2**27)
    assert 2**27 in plan.kind
    assert 2**20 not in plan.kind
    assert plan.fits(3)
    assert not quick_jvp.Plan(3, 2**10).fits(3)


@pytest.mark.parametrize("how", ["raise", "warn"])
def test_a_step_that_would_underflow_is_the_general_paths(how, quick_calls):
    """helper-32: an underflowing step h / |v|_inf raised in the general path and was
    silent on the quick path. Now v goes over a power of two first (products.along):
    no step underflows, neither path raises nor warns under a caller's errstate, the
    quick path leaves such a v to the general one, and J v is right."""

    def g(p):
        # func's own underflow is its own: NumPy's arctan of a subnormal coordinate (J v
        # needs such points: 0 moved by h v_1) sets it on some CPUs (seen with AVX2), not
        # on the machines that ran CI before
        with np.errstate(under="ignore"):
            return np.sum(np.arctan(p), axis=0)

    x, v = np.array([2e-5, 0.0, 0.0]), np.array([1e300, 1.0, 0.0])  # h / |v| about 2e-309
    xd.jvp(g, x, v)
    assert quick_jvp.plan_for(g, x, v) is not None
    outcomes = []
    for kwargs in ({}, {"kwargs": {}}):  # the quick path's turn, then the general one
        with np.errstate(under=how), warnings.catch_warnings():
            warnings.simplefilter("error")
            outcomes.append(xd.jvp(g, x, v, **kwargs))
    assert quick_calls == [None]  # declined: the general path computed it
    assert_same_bits(outcomes[0], outcomes[1])
    exact = v[0] / (1 + x[0] ** 2) + v[1]
    assert abs(outcomes[0] - exact) <= 1e-8 * exact
