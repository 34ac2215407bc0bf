"""The wheel a user installs: its METADATA says what ``pip show`` and the package index show.

The wheel is built from this tree with ``pip wheel --no-deps``: without build
isolation where hatchling is installed (the test extra brings it, so CI needs
no network here), else in pip's isolated build environment.
"""

from __future__ import annotations

import email.message
import email.parser
import importlib.util
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import xpdiff

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = ["3.11", "3.12", "3.13", "3.14"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-build-isolation")
    proc = subprocess.run(
        [*command, str(ROOT)], capture_output=True, text=True, check=False, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("xpdiff-*.whl")
    return built


@pytest.fixture(scope="module")
def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_name_version_summary_and_readme(metadata: email.message.Message) -> None:
    assert metadata["Name"] == "xpdiff"
    assert metadata["Version"] == xpdiff.__version__
    assert "Array API" in metadata["Summary"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# xpdiff")  # README.md is the long description


def test_license_is_shown(wheel: Path, metadata: email.message.Message) -> None:
    # PEP 639: pip show prints License-Expression (pip >= 25.1), the index shows it
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert not [c for c in metadata.get_all("Classifier") if c.startswith("License ::")]
    with zipfile.ZipFile(wheel) as archive:
        (license_file,) = [n for n in archive.namelist() if n.endswith("licenses/LICENSE")]
        assert archive.read(license_file).decode().startswith("BSD 3-Clause License")


def test_python_versions(metadata: email.message.Message) -> None:
    assert metadata["Requires-Python"] == ">=3.11"
    classifiers = metadata.get_all("Classifier")
    listed = sorted(
        (c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)),
        key=lambda v: tuple(map(int, v.split("."))),
    )
    assert listed == SUPPORTED
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert "Typing :: Typed" in classifiers
    # the tools check the same oldest version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == "py311"
    assert pyproject["tool"]["mypy"]["python_version"] == "3.11"


def _requirements(metadata: email.message.Message) -> dict[str | None, set[str]]:
    """Requires-Dist by extra (None: always), each as its distribution name."""
    by_extra: dict[str | None, set[str]] = {}
    for line in metadata.get_all("Requires-Dist"):
        requirement, _, marker = line.partition(";")
        found = re.search(r"extra\s*==\s*['\"]([\w-]+)['\"]", marker)
        name = re.match(r"[A-Za-z0-9_.-]+", requirement.strip())
        assert name is not None, line
        by_extra.setdefault(found.group(1) if found else None, set()).add(name.group(0))
    return by_extra


def test_dependencies_and_extras(metadata: email.message.Message) -> None:
    extras = set(metadata.get_all("Provides-Extra"))
    assert extras >= {"scipy", "dask", "distributed", "jax", "torch", "cuda12", "cuda13"}
    assert extras >= {"test", "docs", "bench"}
    required = _requirements(metadata)
    assert required[None] == {"numpy", "array-api-compat"}  # nothing else, ever
    assert required["scipy"] == {"scipy"}
    assert required["dask"] == {"dask"}
    assert required["distributed"] == {"dask", "distributed"}
    assert required["jax"] == {"jax"}
    assert required["torch"] == {"torch"}
    assert required["cuda13"] == {"cupy-cuda13x"}
    assert "hatchling" in required["test"]  # this test builds offline with it
    assert not required["test"] & {"torch", "jax"}  # an unpinned torch pulls CUDA wheels


def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "xpdiff/py.typed" in names
    assert "xpdiff/errors.py" in names
    assert "xpdiff/__main__.py" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]
    assert not [n for n in names if "__pycache__" in n]
