"""requirements.lock: make it (``make lock``) and tell whether it still matches pyproject.toml.

The lock pins, with hashes, everything an install of wafad needs: the runtime dependencies, every extra, the
build backend (``[build-system] requires``, so ``pip install --no-build-isolation -e .`` is reproducible) and
pip itself (so ``pip freeze --all`` is the same on every install). Its first line records a sha256 of those
inputs; ``check`` recomputes it from pyproject.toml and reports a stale lock. Runs on the bare interpreter
(standard library only): ``scripts/bootstrap.sh`` calls ``check`` before any venv exists.

    python3 scripts/lockfile.py check      # exit 1 with a message when the lock is stale
    python3 scripts/lockfile.py lock       # regenerate it with pip-tools (in a venv of its own)
    VENV/bin/python scripts/lockfile.py unlisted   # what that venv has that the lock does not name
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_NAME = "requirements.lock"
#: Locked beside the project's own lists: the installer, so that the venv's pip is pinned too.
INSTALLER = ("pip",)
PIP_TOOLS = "pip-tools==7.7.0"
DIGEST_PREFIX = "# wafad-lock-inputs sha256="
STALE_MESSAGE = f"{LOCK_NAME} is stale against pyproject.toml: run `make lock`"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    """The PEP 503 form of a distribution name (``JPype1`` -> ``jpype1``, ``ruamel.yaml`` -> ``ruamel-yaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_inputs(pyproject: Path) -> dict[str, object]:
    """What the lock is made from: pyproject.toml's dependency lists and the installer."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data.get("project", {})
    return {
        "build-system.requires": data.get("build-system", {}).get("requires", []),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "installer": list(INSTALLER),
    }


def input_digest(pyproject: Path) -> str:
    canonical_json = json.dumps(lock_inputs(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    """The digest the lock was made from, or None for a lock without one."""
    if not lock.exists():
        return None
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :].split()[0]
    return None


def stale_reason(pyproject: Path, lock: Path) -> str | None:
    """None when ``lock`` was made from ``pyproject``'s current lists, else the message to print."""
    if not lock.exists():
        return f"{lock.name} is missing: run `make lock`"
    if recorded_digest(lock) != input_digest(pyproject):
        return STALE_MESSAGE
    return None


def pins(lock: Path) -> dict[str, str]:
    """Canonical distribution name -> pinned version, for every package the lock names."""
    out: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            out[canonical(match.group(1))] = match.group(2)
    return out


def unlisted(lock: Path) -> list[str]:
    """Distributions installed in the running interpreter that the lock does not name (the project aside)."""
    from importlib.metadata import distributions

    locked = pins(lock)
    names = {canonical(dist.metadata["Name"]) for dist in distributions()}
    return sorted(names - set(locked) - {"wafad"})


def _stamp(lock: Path, digest: str) -> None:
    lines = [line for line in lock.read_text(encoding="utf-8").splitlines() if not line.startswith(DIGEST_PREFIX)]
    header = f"{DIGEST_PREFIX}{digest} (pyproject.toml's dependency lists + pip; checked by scripts/lockfile.py)"
    lock.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


def _tools_python(root: Path) -> Path:
    """A venv of its own with pip-tools (never the project's venv, whose pip the lock pins)."""
    venv = root / ".wafad" / "lock" / "tools"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PIP_TOOLS], check=True)
    return python


def make_lock(root: Path = ROOT, *, upgrade: bool = False) -> Path:
    """Regenerate ``root/requirements.lock``: existing pins are kept where still allowed, unless ``upgrade``."""
    pyproject, lock = root / "pyproject.toml", root / LOCK_NAME
    inputs = lock_inputs(pyproject)
    extra_in = root / ".wafad" / "lock" / "build-and-installer.in"  # pip-compile takes build deps from a file
    extra_in.parent.mkdir(parents=True, exist_ok=True)
    extra_in.write_text("\n".join([*inputs["build-system.requires"], *INSTALLER]) + "\n", encoding="utf-8")
    command = [
        str(_tools_python(root)), "-m", "piptools", "compile", "--quiet",
        "--generate-hashes", "--allow-unsafe", "--all-extras", "--strip-extras",
        "--no-emit-index-url", "--no-emit-find-links",
        "-o", LOCK_NAME, "pyproject.toml", str(extra_in.relative_to(root)),
    ]  # fmt: skip
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=root, check=True, env={**os.environ, "CUSTOM_COMPILE_COMMAND": "make lock"})
    _stamp(lock, input_digest(pyproject))
    return lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "lock", "unlisted"))
    parser.add_argument("--root", type=Path, default=ROOT, help="the project folder (default: this checkout)")
    parser.add_argument("--upgrade", action="store_true", help="lock: move every pin to the newest allowed")
    args = parser.parse_args(argv)
    if args.command == "lock":
        print(f"wrote {make_lock(args.root, upgrade=args.upgrade)}")
        return 0
    if args.command == "unlisted":
        for name in unlisted(args.root / LOCK_NAME):
            print(name)
        return 0
    reason = stale_reason(args.root / "pyproject.toml", args.root / LOCK_NAME)
    if reason:
        print(reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
