"""requirements.lock: the running venv is exactly what it pins, and a lock that pyproject.toml has moved past is caught.

Cheap checks only: nothing is installed. The fresh-install reproducibility itself (two bootstraps, identical
``pip freeze --all``) is too slow for the suite and is described in README.md.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the non-runtime extras bring, as imported: none of it may be imported at module level by installed code.
EXTRA_ONLY_IMPORTS = {"moto", "osmem_server", "pytest", "pytest_timeout", "hypothesis", "selenium", "pypdf", "ruff"}


def _lockfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wafad_lockfile", ROOT / "scripts" / "lockfile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lockfile = _lockfile()


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """pyproject.toml, the lock and the scripts that read them, in a folder of their own."""
    (tmp_path / "scripts").mkdir()
    for name in ("pyproject.toml", "requirements.lock", "scripts/lockfile.py", "scripts/bootstrap.sh"):
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def _add_dependency(pyproject: Path, requirement: str, *, extra: str | None = None) -> None:
    text = pyproject.read_text(encoding="utf-8")
    anchor = "dependencies = [\n" if extra is None else f"{extra} = [\n"
    assert anchor in text
    pyproject.write_text(text.replace(anchor, f'{anchor}  "{requirement}",\n', 1), encoding="utf-8")


def test_installed_distributions_equal_the_lock() -> None:
    pins = lockfile.pins(ROOT / "requirements.lock")
    assert {"pip", "setuptools", "wheel", "boto3", "moto", "pytest"} <= set(pins)
    drift = {}
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            drift[name] = (pinned, installed)
    assert drift == {}, f"venv differs from requirements.lock (name: (locked, installed)): {drift}"


def test_lock_matches_pyproject() -> None:
    assert lockfile.stale_reason(ROOT / "pyproject.toml", ROOT / "requirements.lock") is None


def test_every_requirement_is_pinned() -> None:
    """Each direct requirement (runtime, every extra, build backend) has a pin in the lock."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [*data["build-system"]["requires"], *data["project"]["dependencies"]]
    for extra in data["project"]["optional-dependencies"].values():
        requirements.extend(extra)
    pins = lockfile.pins(ROOT / "requirements.lock")
    names = {lockfile.canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req).group(0)) for req in requirements}
    assert names - set(pins) == set()


@pytest.mark.parametrize(
    ("requirement", "extra"), [("leftpad>=1", None), ("leftpad>=1", "local"), ("leftpad>=1", "test")]
)
def test_stale_check_trips_on_a_new_dependency(project_copy: Path, requirement: str, extra: str | None) -> None:
    pyproject, lock = project_copy / "pyproject.toml", project_copy / "requirements.lock"
    assert lockfile.stale_reason(pyproject, lock) is None
    _add_dependency(pyproject, requirement, extra=extra)
    assert lockfile.stale_reason(pyproject, lock) == lockfile.STALE_MESSAGE
    check = subprocess.run(
        [sys.executable, str(project_copy / "scripts" / "lockfile.py"), "check", "--root", str(project_copy)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1
    assert "requirements.lock is stale against pyproject.toml: run `make lock`" in check.stderr


def test_stale_check_follows_the_build_backend_and_ignores_the_rest(project_copy: Path) -> None:
    pyproject, lock = project_copy / "pyproject.toml", project_copy / "requirements.lock"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('description = "', 'description = "Now: ', 1) + "\n# a comment\n")
    assert lockfile.stale_reason(pyproject, lock) is None
    pyproject.write_text(text.replace('requires = ["setuptools>=69"', 'requires = ["setuptools>=70"', 1))
    assert lockfile.stale_reason(pyproject, lock) == lockfile.STALE_MESSAGE
    lock.unlink()
    assert "missing" in (lockfile.stale_reason(pyproject, lock) or "")


@pytest.mark.skipif(shutil.which("java") is None, reason="bootstrap would install Java first")
def test_bootstrap_refuses_a_stale_lock(project_copy: Path) -> None:
    """The real script, up to its stale check: the venv is a stand-in, so nothing gets installed."""
    venv = project_copy / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    _add_dependency(project_copy / "pyproject.toml", "leftpad>=1")
    env = {k: v for k, v in os.environ.items() if k != "WAFAD_ALLOW_STALE_LOCK"}
    run = subprocess.run(
        ["bash", str(project_copy / "scripts" / "bootstrap.sh")],
        env={**env, "VENV": str(venv), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "requirements.lock is stale against pyproject.toml: run `make lock`" in run.stderr
    assert not (venv / ".wafad-installed").exists()
    assert not (venv / "pip-install.log").exists()


def _module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported when the module is imported (not inside functions or classes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.If | ast.Try | ast.ExceptHandler | ast.With):  # still module level
            stack.extend(ast.iter_child_nodes(node))
    return found


def test_installed_code_imports_no_extra_at_module_level() -> None:
    """A production install (no `local`, `test`, `dev` extras) can import every module of the project."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in data["tool"]["setuptools"]["packages"]["find"]["include"]]
    offenders = {
        str(path.relative_to(ROOT)): sorted(bad)
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if (bad := _module_level_imports(path) & EXTRA_ONLY_IMPORTS)
    }
    assert offenders == {}
