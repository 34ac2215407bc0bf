"""The public API is typed: annotations on every public function, py.typed shipped."""

from __future__ import annotations

import dataclasses
import importlib.resources
import inspect
import typing

import pytest

import xpdiff as xd

FUNCTIONS = [name for name in xd.__all__ if inspect.isfunction(getattr(xd, name))]
CLASSES = [name for name in xd.__all__ if inspect.isclass(getattr(xd, name))]


def test_the_public_names_are_known():
    assert set(FUNCTIONS) >= {"gradient", "fd_weights", "grad", "jacobian", "genD", "hessian"}
    assert set(CLASSES) >= {
        "DerivativeResult",
        "GradResult",
        "JacobianResult",
        "HessianResult",
        "GenDResult",
        "GenD",
    }
    assert xd.GradInfo is xd.DerivativeResult  # the earlier name still works


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_function_is_annotated(name):
    signature = inspect.signature(getattr(xd, name))
    missing = [
        p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty
    ]
    assert not missing, f"xpdiff.{name}: parameters without a type: {missing}"
    assert signature.return_annotation is not inspect.Signature.empty, name


@pytest.mark.parametrize("name", CLASSES)
def test_result_class_fields_are_annotated(name):
    fields = dataclasses.fields(getattr(xd, name))
    assert fields
    assert all(f.type not in (None, "") for f in fields)


def test_py_typed_marker_ships_with_the_package():
    assert importlib.resources.files("xpdiff").joinpath("py.typed").is_file()


@pytest.mark.parametrize("name", ["grad", "jacobian", "hessian", "genD"])
def test_function_mode_names_its_arrays(name):
    """x and func's values are ArrayLike, results Array (xpdiff._typing), and all resolve."""
    function = getattr(xd, name)
    parameters = inspect.signature(function).parameters
    assert parameters["x"].annotation == "ArrayLike"
    assert parameters["func"].annotation == "Callable[..., ArrayLike]"
    hints = typing.get_type_hints(function)  # every alias resolves in its module
    assert set(hints) >= {"func", "x", "return"}
    if name != "genD":
        assert inspect.signature(function).return_annotation.startswith("Array")
