"""Local ``prefect worker start`` processes on the process work pool (``wafad serve --workers N``).

Each worker runs detached in its own process group, like the local stack's services: a PID file
``<state_dir>/stack/worker-<i>.pid``, its log in ``<state_dir>/logs/worker-<i>.log``. Workers get the ``WAFAD_*``
settings, ``WAFAD_ROOT`` (the checkout the pool deployments change into) and ``PREFECT_API_URL`` in their
environment, with telemetry off. :func:`stop_workers` (Ctrl-C of ``wafad serve``, ``wafad stack down``) stops
each group: SIGTERM, then SIGKILL after a grace period; flow runs still in flight end CRASHED, and a backfill
fan-out starts such hours again.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from deployments.pool import POOL, ROOT
from flows.common import settings_env
from wafad.settings import Settings
from wafad.stack import pid_alive, process_cmdline, stop_process_group

#: in a worker's command line (a PID file whose process lacks it is stale: the PID was reused)
MARKER = "prefect worker start"


class WorkerError(RuntimeError):
    """A worker could not be started; the message says why and where its log is."""


@dataclass(frozen=True)
class Worker:
    index: int
    name: str
    pid: int
    log: Path


def pid_dir(settings: Settings) -> Path:
    return (settings.state_dir / "stack").resolve()


def log_dir(settings: Settings) -> Path:
    return (settings.state_dir / "logs").resolve()


def worker_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """The environment of a worker: this one, plus the settings, the Prefect API and no telemetry."""
    api = api_url or os.environ.get("PREFECT_API_URL") or settings.prefect_api_url
    return {
        **os.environ,
        **settings_env(settings),
        "WAFAD_ROOT": str(ROOT),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_HOME": os.environ.get("PREFECT_HOME") or str((settings.state_dir / "prefect").resolve()),
    }


def running_workers(settings: Settings) -> list[Worker]:
    """The workers whose PID files name a live worker process (stale PID files are removed)."""
    out = []
    for path in sorted(pid_dir(settings).glob("worker-*.pid")):
        try:
            info = json.loads(path.read_text())
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
            continue
        if pid_alive(pid) and MARKER in process_cmdline(pid):
            out.append(Worker(int(info["index"]), info["name"], pid, Path(info["log"])))
        else:
            path.unlink(missing_ok=True)
    return sorted(out, key=lambda w: w.index)


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default, so that Python raises KeyboardInterrupt on it (a
    worker forwards SIGTERM to itself as SIGINT; ignored, as under a non-interactive shell, it would not stop)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_workers(
    settings: Settings,
    count: int,
    *,
    pool: str = POOL,
    limit: int | None = None,
    api_url: str | None = None,
    env: dict[str, str] | None = None,
    name_prefix: str | None = None,
) -> tuple[list[Worker], list[subprocess.Popen[bytes]]]:
    """Make ``count`` workers run on ``pool`` (those already running count; idempotent). ``limit``: flow runs at a
    time per worker (None: no limit). Returns every worker and the processes started now."""
    if count < 1:
        raise WorkerError(f"--workers must be at least 1, got {count}")
    pid_dir(settings).mkdir(parents=True, exist_ok=True)
    log_dir(settings).mkdir(parents=True, exist_ok=True)
    have = {w.index: w for w in running_workers(settings)}
    prefix = name_prefix or f"{socket.gethostname()}-worker"
    full_env = {**worker_env(settings, api_url), **(env or {})}
    started: list[subprocess.Popen[bytes]] = []
    for index in range(1, count + 1):
        if index in have:
            continue
        name = f"{prefix}-{index}"
        argv = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"]
        argv += ["--name", name, "--install-policy", "never"]
        if limit is not None:
            argv += ["--limit", str(limit)]
        log = log_dir(settings) / f"worker-{index}.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_sigint,
            )
        info = {"pid": proc.pid, "index": index, "name": name, "pool": pool, "log": str(log), "argv": argv}
        have[index] = Worker(index, name, proc.pid, log)
        pid_file(settings, have[index]).write_text(json.dumps({**info, "started": time.time()}))
        started.append(proc)
    return [have[i] for i in sorted(have)], started


def wait_ready(workers: list[Worker], *, pool: str = POOL, timeout_s: float = 120.0) -> None:
    """Wait until every worker has sent its first heartbeat to the pool; raise :class:`WorkerError` with the log's
    last line when one exits or stays silent."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    waiting = {w.name: w for w in workers}
    with get_client(sync_client=True) as client:
        while waiting:
            for w in list(waiting.values()):
                if not pid_alive(w.pid):
                    raise WorkerError(f"worker {w.name} exited during start-up: {last_line(w.log)} (log {w.log})")
            online = {r.name for r in client.read_workers_for_work_pool(pool) if r.status.value == "ONLINE"}
            for name in online & set(waiting):
                del waiting[name]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(sorted(waiting))
                raise WorkerError(f"worker(s) {names} not online on pool {pool} after {timeout_s:.0f} s")
            if waiting:
                time.sleep(0.5)


def pid_file(settings: Settings, worker: Worker) -> Path:
    return pid_dir(settings) / f"worker-{worker.index}.pid"


def watch_workers(settings: Settings, workers: list[Worker], say: Callable[[str], None], *, poll_s: float = 2.0) -> int:
    """Block until every worker has exited, saying which one went and why; return how many exited by themselves
    (their PID file still there: nobody stopped them)."""
    alive, crashed = list(workers), 0
    while alive:
        time.sleep(poll_s)
        for w in [w for w in alive if not pid_alive(w.pid)]:
            alive.remove(w)
            if pid_file(settings, w).exists():
                crashed += 1
                pid_file(settings, w).unlink(missing_ok=True)
                say(f"worker {w.name} exited by itself: {last_line(w.log)} (log {w.log})")
            else:
                say(f"worker {w.name} was stopped")
    return crashed


def stop_workers(settings: Settings, on_progress: Callable[[str], None] | None = None) -> list[str]:
    """Stop every worker this state folder started (SIGTERM to its group, SIGKILL after 15 s); return their names."""
    say = on_progress or (lambda _msg: None)
    workers = running_workers(settings)
    for w in workers:
        say(f"stopping {w.name} (pid {w.pid})")
        pid_file(settings, w).unlink(missing_ok=True)  # first: a watcher then knows it was stopped, not crashed
    with ThreadPoolExecutor(max(1, len(workers))) as pool:  # each waits for its own group
        list(pool.map(stop_process_group, [w.pid for w in workers]))
    return [w.name for w in workers]


def last_line(log: Path) -> str:
    """The last non-empty line of a log (what a worker said before it stopped)."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"
