"""`wafad stack up|down|status` against real moto and osmem processes on free loopback ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from wafad.settings import Settings
from wafad.stack import LocalStack, free_port, pid_alive


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wafad.cli", "stack", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def stack_env(tmp_path: Path):
    env = {
        "WAFAD_STATE_DIR": str(tmp_path / "state"),
        "WAFAD_MOTO_PORT": str(free_port()),
        "WAFAD_OSMEM_PORT": str(free_port()),
        "WAFAD_PREFECT_PORT": str(free_port()),
    }
    yield env
    _cli(env, "down")


def _pids(state: Path) -> dict[str, int]:
    return {p.stem: json.loads(p.read_text())["pid"] for p in (state / "stack").glob("*.pid")}


def test_up_twice_starts_one_copy_and_down_leaves_nothing(stack_env: dict[str, str]) -> None:
    state = Path(stack_env["WAFAD_STATE_DIR"])
    first = _cli(stack_env, "up")
    assert first.returncode == 0, first.stderr
    pids = _pids(state)
    assert set(pids) == {"moto", "osmem"}

    second = _cli(stack_env, "up")
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    assert _pids(state) == pids

    # both services answer over the network
    osmem = requests.get(f"http://127.0.0.1:{stack_env['WAFAD_OSMEM_PORT']}/", timeout=5).json()
    assert osmem["version"]["number"]
    assert requests.get(f"http://127.0.0.1:{stack_env['WAFAD_MOTO_PORT']}/moto-api/", timeout=5).ok
    assert _cli(stack_env, "status").returncode == 0

    down = _cli(stack_env, "down")
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(pid) for pid in pids.values())
    assert not list((state / "stack").glob("*.pid"))
    assert _cli(stack_env, "status").returncode == 3  # not running


def test_port_taken_by_another_process_is_reported(stack_env: dict[str, str]) -> None:
    port = int(stack_env["WAFAD_OSMEM_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = _cli(stack_env, "up")
    assert result.returncode == 1
    assert f"port 127.0.0.1:{port} is taken" in result.stderr
    assert "WAFAD_OSMEM_PORT" in result.stderr


def test_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, state_dir=tmp_path, moto_port=free_port(), osmem_port=free_port(), prefect_port=free_port()
    )
    stack = LocalStack(settings)
    stack.dir.mkdir(parents=True)
    # a PID that exists but is not ours (this test process) must not count as a running service
    (stack.dir / "osmem.pid").write_text(json.dumps({"pid": os.getpid(), "port": settings.osmem_port}))
    assert {s.name: s.state for s in stack.status(with_prefect=False)} == {"moto": "stopped", "osmem": "stopped"}
