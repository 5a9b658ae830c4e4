"""The local, embedded stack: moto server (AWS), osmem-server (OpenSearch API) and optionally Prefect.

Each service runs as a detached process on loopback with a PID file under ``<state_dir>/stack``. ``up`` is
idempotent (a healthy service we started is left alone), a port held by something else is reported
clearly, and ``down`` stops the whole process group and waits for it to exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from wafad.settings import Settings


class StackError(RuntimeError):
    """A service could not be started or stopped; the message says why and what to do."""


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    argv: tuple[str, ...]
    health_url: str
    healthy: Callable[[requests.Response], bool]
    marker: str  # a string that appears in the process command line
    env: tuple[tuple[str, str], ...] = ()
    startup_timeout_s: float = 30.0


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    url: str
    pid: int | None
    state: str  # running | stopped | foreign (port taken by another process) | unhealthy

    @property
    def running(self) -> bool:
        return self.state == "running"


def _osmem_binary() -> str:
    from osmem_server import resolve_binary

    return resolve_binary()


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def process_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def prefect_env(settings: Settings) -> dict[str, str]:
    """Environment for anything that talks to the local Prefect server (no telemetry)."""
    home = (settings.state_dir / "prefect").resolve()
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
    }


class LocalStack:
    """Start, stop and inspect the local services described by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = (settings.state_dir / "stack").resolve()

    # --- service table -----------------------------------------------------------------------
    def services(self, with_prefect: bool = False) -> list[Service]:
        s = self.settings
        out = [
            Service(
                name="moto",
                port=s.moto_port,
                argv=(sys.executable, "-m", "moto.server", "-H", s.host, "-p", str(s.moto_port)),
                health_url=f"{s.moto_url}/moto-api/",
                healthy=lambda r: r.status_code == 200,
                marker="moto.server",
            ),
            Service(
                name="osmem",
                port=s.osmem_port,
                argv=(_osmem_binary(), "--addr", f"{s.host}:{s.osmem_port}", "--no-stdin-watch", "--no-ja"),
                health_url=f"{s.osmem_url}/",
                healthy=lambda r: r.status_code == 200 and "version" in r.json(),
                marker="osmem-server",
            ),
        ]
        if with_prefect:
            out.append(
                Service(
                    name="prefect",
                    port=s.prefect_port,
                    argv=(
                        sys.executable,
                        "-m",
                        "prefect",
                        "server",
                        "start",
                        "--host",
                        s.host,
                        "--port",
                        str(s.prefect_port),
                        "--analytics-off",
                    ),
                    health_url=f"http://{s.host}:{s.prefect_port}/api/health",
                    healthy=lambda r: r.status_code == 200 and r.json() is True,
                    marker="prefect",
                    env=tuple(prefect_env(s).items()),
                    startup_timeout_s=120.0,
                )
            )
        return out

    def _service(self, name: str) -> Service:
        for svc in self.services(with_prefect=True):
            if svc.name == name:
                return svc
        raise KeyError(name)

    # --- pid files ---------------------------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.dir / f"{name}.pid"

    def _read_pid(self, svc: Service) -> int | None:
        try:
            info = json.loads(self._pidfile(svc.name).read_text())
        except (OSError, ValueError):
            return None
        pid = int(info.get("pid", 0))
        if pid and pid_alive(pid) and svc.marker in process_cmdline(pid):
            return pid
        return None

    def _is_healthy(self, svc: Service) -> bool:
        try:
            return svc.healthy(requests.get(svc.health_url, timeout=2))
        except (requests.RequestException, ValueError):
            return False

    # --- operations --------------------------------------------------------------------------
    def status(self, with_prefect: bool = True) -> list[ServiceStatus]:
        out = []
        for svc in self.services(with_prefect=with_prefect):
            url = svc.health_url.rsplit("/", 1)[0] if svc.name != "osmem" else svc.health_url.rstrip("/")
            pid = self._read_pid(svc)
            if pid:
                state = "running" if self._is_healthy(svc) else "unhealthy"
            elif port_in_use(self.settings.host, svc.port):
                state = "foreign"
            else:
                state = "stopped"
            out.append(ServiceStatus(svc.name, url, pid, state))
        return out

    def up(self, with_prefect: bool = False, on_progress: Callable[[str], None] | None = None) -> list[ServiceStatus]:
        """Start every service not already running; return their status."""
        say = on_progress or (lambda _msg: None)
        self.dir.mkdir(parents=True, exist_ok=True)
        started: list[tuple[Service, subprocess.Popen[bytes]]] = []
        for svc in self.services(with_prefect=with_prefect):
            pid = self._read_pid(svc)
            if pid:
                say(f"{svc.name} already running (pid {pid})")
                continue
            if port_in_use(self.settings.host, svc.port):
                raise StackError(
                    f"cannot start {svc.name}: port {self.settings.host}:{svc.port} is taken by another process. "
                    f"Stop it, or choose another port with WAFAD_{svc.name.upper()}_PORT."
                )
            say(f"starting {svc.name} on {self.settings.host}:{svc.port}")
            started.append((svc, self._spawn(svc)))
        for svc, proc in started:
            self._wait_healthy(svc, proc)
            say(f"{svc.name} healthy")
        return self.status(with_prefect=with_prefect)

    def _spawn(self, svc: Service) -> subprocess.Popen[bytes]:
        log = (self.dir / f"{svc.name}.log").open("ab")
        env = {**os.environ, **dict(svc.env)}
        proc = subprocess.Popen(
            list(svc.argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=str(self.dir),
        )
        self._pidfile(svc.name).write_text(
            json.dumps({"pid": proc.pid, "port": svc.port, "argv": list(svc.argv), "started": time.time()})
        )
        return proc

    def _wait_healthy(self, svc: Service, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + svc.startup_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = self.dir / f"{svc.name}.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                self._pidfile(svc.name).unlink(missing_ok=True)
                raise StackError(f"{svc.name} exited with code {proc.returncode} during start-up:\n{tail}")
            if self._is_healthy(svc):
                return
            time.sleep(0.2)
        stop_process_group(proc.pid)
        self._pidfile(svc.name).unlink(missing_ok=True)
        raise StackError(f"{svc.name} did not become healthy within {svc.startup_timeout_s:.0f} s")

    def down(self, on_progress: Callable[[str], None] | None = None) -> list[str]:
        """Stop every service we started (Prefect included); return the names stopped."""
        say = on_progress or (lambda _msg: None)
        stopped = []
        for svc in reversed(self.services(with_prefect=True)):
            pid = self._read_pid(svc)
            if pid:
                say(f"stopping {svc.name} (pid {pid})")
                stop_process_group(pid)
                stopped.append(svc.name)
            self._pidfile(svc.name).unlink(missing_ok=True)
        return stopped


def stop_process_group(pid: int, timeout_s: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``timeout_s``."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid) and not _group_alive(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # members may be zombies of an exited parent; check /proc for a live member
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
