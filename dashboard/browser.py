"""Drive Debian's headless chromium (installed by ``scripts/bootstrap.sh --browser``) and read its screenshots.

Used by the browser test and ``scripts/browser_check.py``: take a screenshot of a local HTML file, dump the
DOM after its scripts ran, and decode the PNG (stdlib zlib + numpy, no imaging library) to check it is not
blank; and :func:`webdriver` for interactive checks (hover, drag) through selenium and Debian's chromedriver
(``chromium-driver``), never a driver downloaded by selenium-manager. Chromium runs with networking features
off, in a throw-away profile, with a hard timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
)


class BrowserError(RuntimeError):
    """Chromium is missing, failed or timed out."""


def find_chromium() -> str | None:
    """The chromium executable (``WAFAD_CHROMIUM`` overrides), or None."""
    override = os.environ.get("WAFAD_CHROMIUM")
    if override:
        return override if shutil.which(override) or Path(override).is_file() else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMEDRIVER = "/usr/bin/chromedriver"  # Debian's chromium-driver, the same build as its chromium
DRIVER_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromedriver() -> str | None:
    """Debian's chromedriver (``WAFAD_CHROMEDRIVER`` overrides), or None; never one downloaded on the fly."""
    path = os.environ.get("WAFAD_CHROMEDRIVER") or CHROMEDRIVER
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


def webdriver_missing() -> str | None:
    """Why :func:`webdriver` cannot run here (chromium, chromedriver or selenium missing), or None."""
    if find_chromium() is None:
        return "chromium not found: `scripts/bootstrap.sh --browser` installs it (apt-get install chromium)"
    if find_chromedriver() is None:
        return f"chromedriver not found at {CHROMEDRIVER}: apt-get install chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@contextlib.contextmanager
def webdriver(*, size: tuple[int, int] = (1400, 1000), timeout_s: float = 60) -> Iterator[Any]:
    """A selenium Chrome session on Debian's chromium and chromedriver, headless, in a throw-away profile."""
    from selenium import webdriver as wd
    from selenium.webdriver.chrome.service import Service

    reason = webdriver_missing()
    if reason:
        raise BrowserError(reason)
    with tempfile.TemporaryDirectory(prefix="wafad-selenium-") as profile:
        options = wd.ChromeOptions()
        options.binary_location = find_chromium()  # type: ignore[assignment]
        for flag in (*DRIVER_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
            options.add_argument(flag)
        driver = wd.Chrome(service=Service(find_chromedriver()), options=options)
        try:
            driver.set_page_load_timeout(timeout_s)
            driver.set_script_timeout(timeout_s)
            yield driver
        finally:
            driver.quit()


def open_page(driver: Any, page: Path | str, *, timeout_s: float = 30) -> None:
    """Load ``page`` and wait until its script has set the render-complete marker."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(_url(page))
    WebDriverWait(driver, timeout_s).until(
        lambda drv: drv.execute_script("return document.documentElement.getAttribute('data-render-complete')") == "1"
    )


def run_chromium(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    """Run headless chromium with ``args`` in a throw-away profile, networking features off, a hard timeout."""
    exe = find_chromium()
    if exe is None:
        raise BrowserError("chromium not found: run scripts/bootstrap.sh --browser (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="wafad-chromium-") as profile:
        cmd = [exe, *BASE_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium timed out after {timeout_s:.0f} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        raise BrowserError(f"chromium exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-800:]}")
    return proc


def _url(page: Path | str) -> str:
    return page if isinstance(page, str) and "://" in page else Path(page).resolve().as_uri()


def screenshot(
    page: Path | str, png: Path, *, size: tuple[int, int] = (1400, 2000), budget_ms: int = 10_000, timeout_s: float = 90
) -> Path:
    """Render ``page`` and save a PNG of the first ``size`` pixels."""
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    run_chromium(
        [
            f"--virtual-time-budget={budget_ms}",
            f"--screenshot={png.resolve()}",
            f"--window-size={size[0]},{size[1]}",
            _url(page),
        ],
        timeout_s,
    )
    if not png.exists():
        raise BrowserError(f"chromium wrote no screenshot to {png}")
    return png


def dump_dom(page: Path | str, *, budget_ms: int = 10_000, timeout_s: float = 90) -> str:
    """The serialised DOM after the page's scripts ran."""
    proc = run_chromium([f"--virtual-time-budget={budget_ms}", "--dump-dom", _url(page)], timeout_s)
    return proc.stdout.decode("utf-8", errors="replace")


# --- PNG decoding ----------------------------------------------------------------------------------
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def read_png(path: Path) -> np.ndarray:
    """Pixels of an 8-bit, non-interlaced PNG as a (height, width, channels) uint8 array.

    Un-filtering runs on anti-diagonals (pixel (r, x) needs (r, x-1), (r-1, x) and (r-1, x-1)), so numpy does
    the work in ``height + width`` vector steps even for Paeth-filtered rows.
    """
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat = 8, bytearray()
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace or colour not in _CHANNELS:
                raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are supported")
            channels = _CHANNELS[colour]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = np.frombuffer(zlib.decompress(bytes(idat)), dtype=np.uint8).reshape(height, 1 + width * channels)
    filters = raw[:, 0].astype(np.int16)
    x = raw[:, 1:].reshape(height, width, channels).astype(np.int16)
    out = np.zeros((height + 1, width + 1, channels), dtype=np.int16)  # padded: row 0 / column 0 are zeros
    rows = np.arange(height)
    for t in range(height + width - 1):
        r = rows[max(0, t - width + 1) : min(height, t + 1)]
        c = t - r
        a, b, cc = out[r + 1, c], out[r, c + 1], out[r, c]
        p = a + b - cc
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - cc)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, cc))
        f = filters[r][:, None]
        pred = np.select([f == 1, f == 2, f == 3, f == 4], [a, b, (a + b) // 2, paeth], 0)
        out[r + 1, c + 1] = (x[r, c] + pred) % 256
    return out[1:, 1:].astype(np.uint8)


@dataclass(frozen=True)
class PixelStats:
    width: int
    height: int
    colours: int  # distinct colours
    background_share: float  # share of pixels with the most common colour
    reddish: int  # pixels clearly red (anomaly bars, alert lines)


def pixel_stats(path: Path) -> PixelStats:
    px = read_png(path)[:, :, :3]
    flat = px.reshape(-1, 3).astype(np.int32)
    codes = flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    red = int(np.count_nonzero((flat[:, 0] > 180) & (flat[:, 1] < 90) & (flat[:, 2] < 90)))
    return PixelStats(px.shape[1], px.shape[0], len(values), float(counts.max() / codes.size), red)


def write_png(pixels: np.ndarray, path: Path) -> Path:
    """Write an (h, w, 3|4) uint8 array as a PNG (filter 0, zlib): for crops of screenshots."""
    h, w, ch = pixels.shape
    colour = {3: 2, 4: 6}[ch]
    rows = np.concatenate([np.zeros((h, 1), dtype=np.uint8), pixels.reshape(h, w * ch)], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
    Path(path).write_bytes(data)
    return Path(path)
