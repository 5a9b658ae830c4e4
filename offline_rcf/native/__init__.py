"""Native (numpy + numba, no JVM) ThresholdedRandomCutForest: ``NativeEngine(config)``.

Importing this package is light: numba compiles the kernels on first use (and caches them on disk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offline_rcf.native.engine import NativeEngine

__all__ = ["NativeEngine"]


def __getattr__(name: str) -> Any:
    if name == "NativeEngine":
        from offline_rcf.native.engine import NativeEngine

        return NativeEngine
    raise AttributeError(name)
