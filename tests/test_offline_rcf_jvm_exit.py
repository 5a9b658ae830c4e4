"""A process whose JVM was started from a worker thread (as task runners do) still exits when it is done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
from concurrent.futures import ThreadPoolExecutor
from offline_rcf.engine import ad_profile
from offline_rcf.jvm import build_trcf
with ThreadPoolExecutor(1) as pool:
    forest = pool.submit(build_trcf, ad_profile(1, seed=3)).result()
print("built", type(forest).__name__)
"""


def test_process_exits_after_a_jvm_started_in_a_thread() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ThresholdedRandomCutForest")
