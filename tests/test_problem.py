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


def test_keywords_build_the_same_problem_as_options():
    """Call sites not yet given a CallOptions pass the keywords: the same checks and Problem."""
    func = make("sc2", np)
    options = _problem.CallOptions((2.0,), {"k": 1}, True, 7, None, True)
    by_options = _problem.setup(func, [1.0, 2.0], "simple", [1, -1], None, options)
    by_keywords = _problem.setup(
        func,
        [1.0, 2.0],
        "simple",
        [1, -1],
        None,
        args=(2.0,),
        kwargs={"k": 1},
        vectorized=True,
        max_batch=7,
        workers=None,
        full_output=True,
    )
    assert _fields(by_options) == _fields(by_keywords)
    assert by_options.max_batch == 7
    assert by_options.full_output is True
    with pytest.raises(TypeError, match="options or keywords, not both"):
        _problem.setup(func, [1.0, 2.0], "simple", None, None, options, max_batch=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_batches'"):
        _problem.setup(func, [1.0, 2.0], "simple", None, None, max_batches=3)
