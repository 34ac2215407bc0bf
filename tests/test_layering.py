"""The import contract of docs/architecture.md, checked on the source text.

- only ``_backend`` imports array-api-compat, cupy, cupyx, torch, jax or dask;
- ``_numerics`` never takes a namespace (``xp``) nor imports an array library
  other than NumPy (host float64), nor any xpdiff module that does;
- the algorithms (array mode's ``gradient``, function mode's ``first``,
  ``second``, ...) hold no library branch: they never ask which library an
  array comes from;
- no module uses another module's private (underscore) names;
- ``__init__`` only re-exports.

Each rule is a small AST walk over ``src/xpdiff``; a test per rule lists every
place that breaks it.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import xpdiff

PACKAGE = pathlib.Path(xpdiff.__file__).parent
LIBRARIES = {"array_api_compat", "cupy", "cupyx", "torch", "jax", "jaxlib", "dask", "distributed"}
#: the modules that combine plans/schemes and executors, and must not branch on a library
ALGORITHMS = (
    "_array/gradient.py",
    "_function/first.py",
    "_function/first_methods.py",
    "_function/sparse_first.py",
    "_function/second.py",
    "_function/second_methods.py",
    "_function/sparse_second.py",
    "_function/derivative.py",
    "_function/derivative_ladder.py",
    "_function/derivative_pilot.py",
    "_function/products.py",
    "_function/hessvec.py",
    "_function/around.py",
)
#: the questions about an array's library that only executors and evaluators may ask
LIBRARY_QUESTIONS = {
    "is_numpy",
    "is_numpy_namespace",
    "library_name",
    "is_dask",
    "is_torch",
    "is_jax",
    "is_cupy",
}


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(PACKAGE)): ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


MODULES = _modules()


def _dotted(path: str) -> str:
    parts = pathlib.PurePosixPath(path).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("xpdiff", *parts))


def _imported(path: str, tree: ast.Module) -> list[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with the line (``from . import x``: ``pkg.x``)."""
    package = _dotted(path) if path.endswith("__init__.py") else _dotted(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def test_only_backend_imports_array_libraries():
    broken = [
        f"{path}:{line} imports {name}"
        for path, tree in MODULES.items()
        if path != "_backend.py"
        for line, name in _imported(path, tree)
        if name.split(".")[0] in LIBRARIES
    ]
    assert not broken, "\n".join(broken)


def test_numerics_never_touch_an_array_library():
    broken = []
    for path, tree in MODULES.items():
        if not path.startswith("_numerics/"):
            continue
        for line, name in _imported(path, tree):
            top = name.split(".")[0]
            if top in LIBRARIES or (top == "xpdiff" and not name.startswith("xpdiff._numerics")):
                broken.append(f"{path}:{line} imports {name}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
                names += [a.arg for a in node.args.kwonlyargs]
                if "xp" in names:
                    broken.append(f"{path}:{node.lineno} {node.name}() takes a namespace xp")
    assert not broken, "\n".join(broken)


def test_algorithms_hold_no_library_branch():
    broken = []
    for path in ALGORITHMS:
        tree = MODULES.get(path)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in LIBRARY_QUESTIONS:
                broken.append(f"{path}:{node.lineno} asks {node.attr}")
            elif isinstance(node, ast.Name) and node.id in LIBRARY_QUESTIONS:
                broken.append(f"{path}:{node.lineno} asks {node.id}")
    assert not broken, "\n".join(broken)


def _module_aliases(path: str, tree: ast.Module) -> dict[str, str]:
    """Names bound to xpdiff modules in ``path``: ``from . import engine as _engine``."""
    known = {_dotted(p) for p in MODULES}
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for line, name in _imported(path, ast.Module(body=[node], type_ignores=[])):
                del line
                if name in known:
                    for alias in node.names:
                        if name.endswith("." + alias.name):
                            aliases[alias.asname or alias.name] = name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    aliases[alias.asname or alias.name] = alias.name
    return aliases


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_uses_another_modules_private_names():
    broken = []
    known = {_dotted(p) for p in MODULES}
    for path, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for line, name in _imported(path, ast.Module(body=[node], type_ignores=[])):
                    module, _, attr = name.rpartition(".")
                    if module in known and name not in known and _private(attr):
                        broken.append(f"{path}:{line} imports {name}")
        aliases = _module_aliases(path, tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
                and f"{aliases[node.value.id]}.{node.attr}" not in known
            ):
                broken.append(f"{path}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not broken, "\n".join(broken)


def test_init_only_reexports():
    tree = MODULES["__init__.py"]
    allowed = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.Expr)
    body = []
    for node in tree.body:  # `if TYPE_CHECKING:` re-exports too (for lazily imported names)
        checking = isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        body += [*node.body, *node.orelse] if checking else [node]
    extra = [type(node).__name__ for node in body if not isinstance(node, allowed)]
    assert not extra, f"__init__.py does more than re-export: {extra}"
    assert all(name in dir(xpdiff) for name in xpdiff.__all__)
    assert all(getattr(xpdiff, name) is not None for name in xpdiff.__all__)


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("import torch\n", test_only_backend_imports_array_libraries),
        ("from .. import _backend\n", test_numerics_never_touch_an_array_library),
        ("def weights(xp, n):\n    return n\n", test_numerics_never_touch_an_array_library),
        ("from xpdiff._function import engine as e\ne._itemsize\n", None),
    ],
)
def test_the_rules_catch_what_they_forbid(monkeypatch, source, rule):
    """Each rule fails on a module that breaks it (the checks are not vacuous)."""
    tree = ast.parse(source)
    path = "_numerics/probe.py"
    patched = {**MODULES, path: tree}
    monkeypatch.setitem(globals(), "MODULES", patched)
    rule = rule or test_no_module_uses_another_modules_private_names
    with pytest.raises(AssertionError, match=r"probe\.py"):
        rule()


def test_algorithm_rule_catches_a_library_branch(monkeypatch):
    tree = ast.parse("from .. import _backend\nif _backend.is_numpy(f):\n    pass\n")
    monkeypatch.setitem(globals(), "MODULES", {**MODULES, "_array/gradient.py": tree})
    with pytest.raises(AssertionError, match="is_numpy"):
        test_algorithms_hold_no_library_branch()


#: the size limits of docs/architecture.md: a module or function past them hides its idea
MODULE_LINES = 500
FUNCTION_LINES = 60


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of code of a function: its body's lines, docstring excluded."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


def test_modules_and_functions_stay_small():
    broken = []
    for path, tree in MODULES.items():
        lines = len((PACKAGE / path).read_text().splitlines())
        if lines > MODULE_LINES:
            broken.append(f"{path}: {lines} lines (at most {MODULE_LINES})")
        for node in ast.walk(tree):
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_function and (n := _code_lines(node)) > FUNCTION_LINES:
                broken.append(f"{path}:{node.lineno} {node.name}: {n} lines of code")
    assert not broken, "\n".join(broken)
