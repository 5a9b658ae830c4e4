"""offline_rcf: the OpenSearch AD detector replica (AWS's random-cut-forest as AD builds it).

``from offline_rcf import TRCFDetector`` — imported lazily, so ``import offline_rcf`` starts no JVM and
loads neither river nor JPype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offline_rcf.detector import TRCFDetector

__all__ = ["TRCFDetector"]


def __getattr__(name: str) -> Any:
    if name == "TRCFDetector":
        from offline_rcf.detector import TRCFDetector

        return TRCFDetector
    raise AttributeError(f"module 'offline_rcf' has no attribute {name!r}")
