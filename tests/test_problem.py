"""One path for the arguments that every function-mode call shares: CallOptions and setup."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from reference_functions import make

import xpdiff as xd
from xpdiff._function import problem as _problem

FUNCTIONS = {
    "grad": lambda **o: xd.grad(make("sc2", np), [1.0, 2.0], **o),
    "jacobian": lambda **o: xd.jacobian(make("sc2", np), [1.0, 2.0], **o),
    "hessian": lambda **o: xd.hessian(make("sc2", np), [1.0, 2.0], **o),
    "genD": lambda **o: xd.genD(make("sc2", np), [1.0, 2.0], **o),
}


@pytest.mark.parametrize("function", list(FUNCTIONS))
@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_batch": 2.5}, TypeError, "max_batch must be an integer >= 1 or None, got float"),
        ({"max_batch": 0}, ValueError, "max_batch must be an integer >= 1 or None, got 0"),
        ({"vectorized": "yes"}, TypeError, "vectorized must be True or False, got str"),
        ({"full_output": None}, TypeError, "full_output must be True or False, got NoneType"),
        ({"kwargs": [1]}, TypeError, "kwargs must be a dict or None, got list"),
    ],
)
def test_every_function_checks_the_shared_options_alike(function, options, error, match):
    with pytest.raises(error, match=match):
        FUNCTIONS[function](**options)


def test_options_are_checked_into_the_problem():
    """setup checks the options as given: numpy scalars become Python's, one object a tuple."""
    given = _problem.CallOptions(5.0, None, np.bool_(False), np.int64(3), None, 1 == 1)
    problem = _problem.setup(make("sc2", np), [1.0, 2.0], "simple", None, None, given)
    assert type(problem.max_batch) is int
    assert problem.max_batch == 3
    assert problem.full_output is True
    assert type(problem.evaluator).__name__ == "Pointwise"  # vectorized=np.False_
    assert problem.evaluator.call.args == (5.0,)
    assert problem.evaluator.call.kwargs == {}
    assert given.args == 5.0  # the options given are left as they were
    with pytest.raises(AttributeError):
        given.max_batch = 4  # type: ignore[misc]


def _fields(problem: _problem.Problem) -> dict:
    fields = {f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}
    evaluator = fields.pop("evaluator")
    fields["x"] = fields["x"].tolist()
    call = evaluator.call
    return {**fields, "evaluator": (type(evaluator), call.func, call.args, call.kwargs)}


def test_options_reach_the_problem_and_nothing_else_is_taken():
    """Every call site gives a CallOptions: its checked values land in the Problem,
    the defaults are the public functions', and a stray keyword is Python's TypeError."""
    func = make("sc2", np)
    options = _problem.CallOptions((2.0,), {"k": 1}, True, 7, None, True)
    problem = _problem.setup(func, [1.0, 2.0], "simple", [1, -1], None, options)
    assert problem.max_batch == 7
    assert problem.full_output is True
    assert (problem.evaluator.call.args, problem.evaluator.call.kwargs) == ((2.0,), {"k": 1})
    default = _problem.setup(func, [1.0, 2.0], "simple", None, None)
    assert (default.max_batch, default.full_output) == (None, False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_batch'"):
        _problem.setup(func, [1.0, 2.0], "simple", None, None, options, max_batch=3)


def test_with_budget_copies_every_field():
    """Problem.with_budget is dataclasses.replace(problem, budget=...), field by field."""
    problem = _problem.setup(lambda x: np.sum(x, axis=0), np.ones((3, 2)), "simple", None, None)
    other = problem.with_budget(12345)
    expected = dataclasses.replace(problem, budget=12345)
    for field in dataclasses.fields(_problem.Problem):
        assert getattr(other, field.name) is getattr(expected, field.name), field.name
    assert other.budget == 12345
    assert problem.budget != 12345
