"""grad's quick path (``_function/quick``): the everyday call, planned once.

A func that passed the check that it does not mix points goes the quick way on
its later calls; its first call goes the general way. Each case compares the
quick path to the bit with the general path (the first call, and ``kwargs={}``,
which the quick path leaves to the general one), and checks that the quick path
was taken, with the same calls of func, checks, errors and notes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import assert_same_bits, quick_points

import xpdiff as xd
from xpdiff._function import quick
from xpdiff.errors import ResultTypeError

RNG = np.random.default_rng(11)


def quadratic(x):
    return 0.5 * np.sum(x * x, axis=0)


def mixed(x):
    n = x.shape[0]
    w = np.arange(1.0, n + 1).reshape((n,) + (1,) * (x.ndim - 1))
    return np.sum(w * (np.exp(x) - x) + np.sin(3 * x) / (1 + x * x), axis=0) / n


def logs(x):
    return np.sum(np.log(x), axis=0)


@pytest.fixture
def quick_calls(monkeypatch):
    """How many gradients the quick path computed."""
    calls = []
    gradient = quick.Plan.gradient

    def counted(self, func, x, f0):
        calls.append(x.shape)
        return gradient(self, func, x, f0)

    monkeypatch.setattr(quick.Plan, "gradient", counted)
    return calls


@pytest.mark.parametrize("method", ["Richardson", "complex"])
@pytest.mark.parametrize("func", [quadratic, mixed])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 64, 300])
def test_later_calls_are_the_first_calls_bits(method, func, n, quick_calls):
    x = quick_points(RNG, n)
    first = xd.grad(func, x, method)  # checks func: the general path
    assert quick_calls == []
    assert_same_bits(xd.grad(func, x, method), first)
    assert quick_calls == [(n,)]
    assert_same_bits(xd.grad(func, x, method, kwargs={}), first)  # the general path again
    y = quick_points(RNG, n)  # another point of the same size: the plan, new values
    assert_same_bits(xd.grad(func, y, method), xd.grad(func, y, method, kwargs={}))
    assert quick_calls == [(n,), (n,)]


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_non_finite_values_give_nan_as_on_the_general_path(method):
    x = np.array([1.0, 0.0, 2.0, np.inf, 1e-300])
    with np.errstate(divide="ignore", invalid="ignore"):
        xd.grad(logs, x, method)
        quick_value = xd.grad(logs, x, method)
        general = xd.grad(logs, x, method, kwargs={})
    assert_same_bits(quick_value, general)
    assert np.isnan(quick_value).all()  # log(0) and log(inf) at x: every component NaN
    with np.errstate(invalid="ignore"):
        assert np.isnan(xd.grad(quadratic, np.array([1.0, np.nan]), method)).all()


def test_an_infinite_step_warns_as_little_as_the_general_path():
    def linear(p):
        return np.sum(p, axis=0)

    x = np.array([1.0, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = xd.grad(linear, x)
        assert quick.plan_for(linear, x, "Richardson") is not None
        value = xd.grad(linear, x)
    assert_same_bits(value, first)
    assert np.isnan(value).all()  # f is inf at every point: no finite difference


class Counting:
    """A scalar func that records the arrays it gets (copies) and can change its output."""

    def __init__(self, shape_of_output=None):
        self.calls = []
        self.shape_of_output = shape_of_output

    def __call__(self, p):
        self.calls.append((p, p.copy()))
        value = 0.5 * np.sum(p * p, axis=0)
        if self.shape_of_output == "elementwise":
            return 0.5 * p * p
        return value


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_the_same_two_calls_on_fresh_arrays(method):
    func = Counting()
    x = np.linspace(0.5, 1.5, 5)
    x.flags.writeable = False
    xd.grad(func, x, method)  # the general path, with the check's two points
    func.calls.clear()
    expected = xd.grad(func, x, method, kwargs={})  # the general path, checked before
    general_calls = [(p.shape, p.dtype) for p, _ in func.calls]
    func.calls.clear()
    assert quick.plan_for(func, x, method) is not None
    assert_same_bits(xd.grad(func, x, method), expected)
    assert [(p.shape, p.dtype) for p, _ in func.calls] == general_calls
    assert len(general_calls) == 2
    for p, _ in func.calls:  # never x itself
        assert not np.shares_memory(p, x)
    np.testing.assert_array_equal(func.calls[0][1], x)
    assert x.flags.writeable is False


def test_another_output_at_x_goes_on_the_general_path_without_a_second_call():
    func = Counting()
    x = np.array([0.5, 1.0, 1.5])
    xd.grad(func, x)
    assert quick.plan_for(func, x, "Richardson") is not None
    func.shape_of_output = "elementwise"  # now f(x) has x's shape: an elementwise func
    func.calls.clear()
    value = xd.grad(func, x)  # the derivative at each element, from the f(x) it has
    np.testing.assert_allclose(value, x, rtol=1e-10)
    assert [p.shape for p, _ in func.calls] == [(3,), (3, 8)]  # no second call at x


@pytest.mark.parametrize("method", ["Richardson", "complex"])
def test_outputs_that_are_not_float64_arrays_are_checked_and_converted(method):
    short = np.complex64 if method == "complex" else np.float32

    def as_float(p):  # a Python float at x, a shorter dtype than the points' on the batch
        value = 0.5 * np.sum(p * p, axis=0)
        return float(value) if p.ndim == 1 else value.astype(short)

    x = np.array([0.25, 2.0, -1.0])
    first = xd.grad(as_float, x, method)
    assert quick.plan_for(as_float, x, method) is not None
    assert_same_bits(xd.grad(as_float, x, method), first)
    assert_same_bits(first, xd.grad(as_float, x, method, kwargs={}))

    state = {"list": False}

    def as_list(p):
        return [1.0] if state["list"] and p.ndim == 1 else quadratic(p)

    xd.grad(as_list, x, method)
    assert quick.plan_for(as_list, x, method) is not None
    state["list"] = True
    with pytest.raises(ResultTypeError, match="list"):  # the evaluator's own message
        xd.grad(as_list, x, method)


def test_complex_values_at_real_x_are_refused_on_the_quick_path_too():
    state = {"complex": False}

    def f(p):
        value = np.sum(p * p, axis=0)
        return value + 1j if state["complex"] and p.dtype == np.float64 else value

    x = np.array([1.0, 2.0])
    xd.grad(f, x, "complex")
    assert quick.plan_for(f, x, "complex") is not None
    state["complex"] = True
    with pytest.raises(ValueError, match="complex values at the real point x"):
        xd.grad(f, x, "complex")


def test_an_exception_in_the_batch_keeps_its_class_and_gets_the_notes():
    state = {"fail": False}

    def f(p):
        if state["fail"] and p.ndim == 2:
            raise KeyError("mine")
        return quadratic(p)

    x = np.array([1.0, 2.0])
    xd.grad(f, x)
    state["fail"] = True
    with pytest.raises(KeyError, match="mine") as info:
        xd.grad(f, x)
    assert any("called func on a batch of points" in note for note in info.value.__notes__)


@pytest.mark.parametrize("budget", [2**10, 2**14, 2**27])
def test_the_memory_budget_is_part_of_the_plan(budget):
    x = quick_points(RNG, 40)
    with xd.memory_budget(budget):
        first = xd.grad(mixed, x)
        assert_same_bits(xd.grad(mixed, x), first)
        assert_same_bits(xd.grad(mixed, x, kwargs={}), first)
        taken = quick.plan_for(mixed, x, "Richardson") is not None
    assert taken == (budget == 2**27)  # small budgets: more calls, the general path


def test_other_arguments_take_the_general_path():
    x = np.array([1.0, 2.0])
    xd.grad(quadratic, x)
    assert quick.plan_for(quadratic, x, "Richardson") is not None
    assert quick.plan_for(quadratic, x, "richardson") is None  # the general path's names
    assert quick.plan_for(quadratic, x, "simple") is None
    assert quick.plan_for(quadratic, x.astype(np.float32), "Richardson") is None
    assert quick.plan_for(quadratic, x.reshape(2, 1), "Richardson") is None
    assert quick.plan_for(lambda p: quadratic(p), x, "Richardson") is None  # not checked yet


def test_no_plan_for_an_n_whose_points_exceed_the_budget():
    def sine(p):  # elementwise, remembered once checked
        return np.sin(p)

    x = np.linspace(0.1, 3.0, 100_000)
    quick._PLANS.clear()
    for method in ("Richardson", "complex"):
        for _ in range(2):
            value = xd.grad(sine, x, method)
        np.testing.assert_allclose(value, np.cos(x), rtol=1e-9, atol=1e-9)
    assert quick._PLANS == {}  # nothing planned, not even "no plan"


def test_a_func_never_checked_plans_nothing():
    x = np.linspace(0.5, 1.5, 17)
    quick._PLANS.clear()
    assert quick.plan_for(lambda p: quadratic(p), x, "Richardson") is None
    assert quick._PLANS == {}


@pytest.mark.parametrize(("method", "budget"), [("Richardson", 28240), ("complex", 7120)])
def test_at_the_budgets_edge_the_calls_are_the_general_paths(method, budget):
    calls = []

    def f(p):  # f(x) of shape (1,): its 8 bytes count in the general path's budget
        calls.append(p.shape)
        return np.sum(np.sin(p), axis=0, keepdims=True)

    x = np.linspace(0.5, 1.5, 10)
    with xd.memory_budget(budget):
        xd.jvp(f, x, np.ones(10), method)  # the check passed on jvp's call (same kind)
        calls.clear()
        general = xd.grad(f, x, method, kwargs={})
        general_calls = calls[:]
        calls.clear()
        assert_same_bits(xd.grad(f, x, method), general)
        assert calls == general_calls
    assert len(general_calls) == 3  # this budget splits the points: the edge is tested


def test_a_func_that_is_no_longer_callable_gets_the_general_message():
    class Square:
        def __call__(self, p):
            return quadratic(p)

    func = Square()
    x = np.array([1.0, 2.0])
    xd.grad(func, x)
    del Square.__call__
    with pytest.raises(TypeError, match="func must be callable"):
        xd.grad(func, x)


def test_a_plan_is_made_with_its_keys_budget():
    with xd.memory_budget(2**20):
        plan = quick.Plan("Richardson", 3, 2**27)
    assert 2**27 in plan.kind
    assert 2**20 not in plan.kind
