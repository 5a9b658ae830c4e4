"""The traffic section: top countries, client IPs and URIs, and the latest suspicious requests (filled in by the
page's script from the data block, as text)."""

from __future__ import annotations

from typing import Any

from dashboard.chartspec import PALETTE, hbar_rows
from dashboard.data.loader import DashboardData
from dashboard.views.common import table


def _hbar(title: str, rows: list[tuple[str, float]], color: str) -> dict[str, Any]:
    return {"title": title, "rows": hbar_rows(rows), "height": 24 + 18 * max(len(rows), 1), "color": color}


def traffic(d: DashboardData) -> dict[str, Any]:
    raw = d.raw
    return {
        "tops": [
            (
                _hbar("Top countries", [(c, float(n)) for c, n, _ in raw.top_countries], PALETTE[0]),
                table(
                    ["country", "requests", "outside allow-list"],
                    [(c, f"{n:,}", f"{b:,}") for c, n, b in raw.top_countries],
                    num_cols=(1, 2),
                ),
            ),
            (
                _hbar("Top client IPs", [(ip, float(n)) for ip, n in raw.top_ips], PALETTE[4]),
                table(["client IP", "requests"], [(ip, f"{n:,}") for ip, n in raw.top_ips], num_cols=(1,)),
            ),
            (
                _hbar("Top URIs", [(u, float(n)) for u, n in raw.top_uris], PALETTE[2]),
                table(["URI", "requests"], [(u, f"{n:,}") for u, n in raw.top_uris], num_cols=(1,), raw_cols=(0,)),
            ),
        ]
    }
