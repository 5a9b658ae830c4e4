#!/usr/bin/env python3
"""Open an HTML file in headless chromium: screenshot, DOM dump and a pixel summary.

    .venv/bin/python scripts/browser_check.py out/dashboard.html --png out/dashboard.png [--dom out/dom.html]

Exits 1 when chromium is missing, the page's render-complete marker is absent, or the screenshot is blank.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.browser import BrowserError, dump_dom, find_chromium, pixel_stats, screenshot


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("page", type=Path)
    ap.add_argument("--png", type=Path, default=None, help="screenshot path (default: <page>.png)")
    ap.add_argument("--dom", type=Path, default=None, help="also write the DOM after scripts ran")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=2000)
    args = ap.parse_args(argv)
    if find_chromium() is None:
        print("chromium not found: run scripts/bootstrap.sh --browser", file=sys.stderr)
        return 1
    png = args.png or args.page.with_suffix(".png")
    try:
        screenshot(args.page, png, size=(args.width, args.height))
        dom = dump_dom(args.page)
    except BrowserError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.dom:
        args.dom.write_text(dom, encoding="utf-8")
    stats = pixel_stats(png)
    complete = 'data-render-complete="1"' in dom
    print(
        f"screenshot {png}: {stats.width}x{stats.height}, {stats.colours} colours, "
        f"background {stats.background_share:.0%}, render-complete marker: {'yes' if complete else 'NO'}"
    )
    blank = stats.colours < 10 or stats.background_share > 0.98
    return 0 if complete and not blank else 1


if __name__ == "__main__":
    sys.exit(main())
