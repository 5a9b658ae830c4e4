"""The simulated world: the web ACL, its associated resources (one per ``httpSourceName``), client IP pools per
country (IPv4 and IPv6, Zipf popularity, a fixed user agent per IP), user agents, URIs per resource, and the
request-id formats each source uses. Built once per scenario seed; every 5-minute block draws from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from simulator.profile import COUNTRY, SOURCE

WEBACL_NAME = "wafad-demo"


@dataclass(frozen=True)
class Source:
    """One resource associated with the web ACL."""

    name: str  # httpSourceName
    source_id: str  # httpSourceId in the format WAF uses for that kind of resource
    host: str
    lower_headers: bool  # HTTP/2 front ends log lower-case header names
    request_id: str  # request-id format: "trace" (ALB), "cf", "apigw", "uuid"
    uris: tuple[tuple[str, str, float], ...]  # (uri, args, weight)


def _sources(account: str, region: str) -> list[Source]:
    shop = (
        ("/", "", 14), ("/index.html", "", 3), ("/products", "category=shoes&page=1", 8),
        ("/products", "category=bags&page=2", 4), ("/products/1042", "", 5), ("/products/2210", "", 4),
        ("/products/3177", "", 3), ("/cart", "", 5), ("/checkout", "", 2), ("/login", "", 4),
        ("/account/orders", "", 2), ("/api/v1/search", "q=running+shoes", 6),
        ("/api/v1/search", "q=%22red%20bag%22", 2),
        ("/api/v1/cart/items", "", 4), ("/static/js/app.3f9a1c.js", "", 7), ("/static/css/site.css", "", 6),
        ("/images/hero.webp", "", 5), ("/favicon.ico", "", 4), ("/robots.txt", "", 1), ("/health", "", 2),
    )  # fmt: skip
    api = (
        ("/prod/orders", "", 8), ("/prod/orders/8841", "", 4), ("/prod/orders", "status=open&limit=50", 3),
        ("/prod/users/me", "", 6), ("/prod/pets", "", 3), ("/prod/pets/17", "", 2), ("/prod/inventory", "sku=A-100", 2),
    )  # fmt: skip
    cdn = (
        ("/", "", 6), ("/assets/main.8b21e.js", "", 6), ("/assets/vendor.1c03a.js", "", 4),
        ("/assets/styles.css", "", 5), ("/images/logo.svg", "", 4), ("/images/banner-2024.jpg", "", 3),
        ("/docs/getting-started", "", 2), ("/favicon.ico", "", 2),
    )  # fmt: skip
    return [
        Source("ALB", f"{account}-app/wafad-shop/5e1f0a4c3b2d1e0f", "shop.example.com", False, "trace", shop),
        Source("APIGW", f"{account}:b34myvfw0b:prod", f"b34myvfw0b.execute-api.{region}.amazonaws.com", False,
               "apigw", api),
        Source("CF", "E2QWRUHAPOMQZL", "d111111abcdef8.cloudfront.net", True, "cf", cdn),
        Source("APPSYNC", f"arn:aws:appsync:{region}:{account}:apis/x4m7kq2pzbc3fdy5hpwq6lmoxu",
               f"x4m7kq2pzbc3fdy5hpwq6lmoxu.appsync-api.{region}.amazonaws.com", True, "uuid", (("/graphql", "", 1),)),
        Source("COGNITOIDP", f"{region}_Wf4dEmO7x", f"wafad-auth.auth.{region}.amazoncognito.com", False, "uuid",
               (("/oauth2/token", "", 5), ("/oauth2/authorize", "response_type=code&client_id=5kq1example", 3),
                ("/login", "client_id=5kq1example", 2))),
        Source("APPRUNNER", f"arn:aws:apprunner:{region}:{account}:service/wafad-api/8fe1e10304f84fd2b0df550fe98a71fa",
               f"wafad-api.{region}.awsapprunner.com", False, "uuid", (("/", "", 3), ("/api/status", "", 2))),
        Source("VERIFIED_ACCESS", "vai-0ce000c0b7643abea", "internal.example.com", False, "uuid",
               (("/", "", 2), ("/dashboard", "", 1))),
        Source("-", "-", "localhost:1989", False, "uuid", (("/myUri", "", 1),)),
    ]  # fmt: skip


#: (user agent, kind, weight): kind drives the other headers a client sends.
USER_AGENTS: tuple[tuple[str, str, float], ...] = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36", "chrome", 30),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
     "Safari/605.1.15", "safari", 12),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
     "Mobile/15E148 Safari/604.1", "safari", 14),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile "
     "Safari/537.36", "chrome", 12),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "firefox", 7),
    ("curl/8.5.0", "cli", 4),
    ("python-requests/2.31.0", "cli", 4),
    ("Go-http-client/2.0", "cli", 3),
    ("okhttp/4.12.0", "cli", 5),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", 3),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot", 2),
)  # fmt: skip
SCANNER_UA = "Mozilla/5.0 zgrab/0.x"
FLOOD_UA = "python-requests/2.31.0"

_SCAN_DIRS = (
    "",
    "admin/",
    "wp-admin/",
    "wp-content/plugins/",
    "cgi-bin/",
    "backup/",
    "old/",
    "api/",
    "phpmyadmin/",
    ".git/",
    "vendor/phpunit/",
    "server-status/",
    "config/",
    "test/",
    "uploads/",
    ".well-known/",
    "debug/",
)
_SCAN_FILES = (".env", "config.php", "wp-login.php", "xmlrpc.php", "index.php", "setup.php", "install.php",
               "db.sql", "backup.zip", "dump.tar.gz", ".htaccess", "web.config", "credentials.json", "id_rsa",
               "HEAD", "config", "eval-stdin.php", "shell.php", "login.action", "console", "actuator/env",
               "server.key", "settings.py", "users.csv", "info.php", "phpinfo.php")  # fmt: skip


def _accept(kind: str) -> str:
    if kind in ("chrome", "safari", "firefox"):
        return "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    return "*/*"


def headers_for(source: Source, ua: str, kind: str) -> list[dict[str, str]]:
    """The request headers a client of ``kind`` sends to ``source`` (WAF logs them as ``[{name, value}]``)."""
    pairs = [("Host", source.host), ("User-Agent", ua), ("Accept", _accept(kind))]
    if kind == "chrome":
        pairs += [("sec-ch-ua", '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'),
                  ("sec-ch-ua-mobile", "?1" if "Mobile" in ua else "?0"),
                  ("sec-ch-ua-platform", '"Android"' if "Android" in ua else '"Windows"')]  # fmt: skip
    if kind in ("chrome", "safari", "firefox"):
        pairs += [("Accept-Encoding", "gzip, deflate, br"), ("Accept-Language", "en-GB,en;q=0.9"),
                  ("sec-fetch-site", "same-origin"), ("sec-fetch-mode", "navigate")]  # fmt: skip
    elif kind == "bot":
        pairs += [("Accept-Encoding", "gzip, deflate"), ("From", "bot@example.org")]
    else:
        pairs += [("Accept-Encoding", "gzip")]
    if source.name == "APIGW":
        pairs += [("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "443")]
    if source.lower_headers:
        pairs = [(n.lower(), v) for n, v in pairs]
    return [{"name": n, "value": v} for n, v in pairs]


def scan_uris() -> list[str]:
    """The URI scanner's word list: many distinct paths."""
    return [f"/{d}{f}" for d in _SCAN_DIRS for f in _SCAN_FILES]


def _ipv4(rng: np.random.Generator, n: int) -> list[str]:
    first = rng.choice(np.array([3, 5, 13, 18, 23, 31, 34, 37, 44, 51, 52, 54, 62, 66, 72, 78, 81, 86, 91, 95, 103,
                                 109, 117, 122, 139, 151, 176, 185, 188, 193, 203, 212, 217]), n)  # fmt: skip
    rest = rng.integers(0, 256, (n, 3))
    rest[:, 2] = rng.integers(1, 255, n)
    return [f"{a}.{b}.{c}.{d}" for a, (b, c, d) in zip(first.tolist(), rest.tolist(), strict=True)]


def _ipv6(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = ("2a02:c7c", "2600:1700", "2409:4042", "2a00:23c5", "2601:646", "2401:4900", "2a01:4b00")
    groups = rng.integers(0, 0x10000, (n, 5))
    pick = rng.integers(0, len(prefixes), n)
    return [f"{prefixes[p]}:{g[0]:x}:{g[1]:x}::{g[2]:x}:{g[3]:x}" for p, g in zip(pick.tolist(), groups, strict=True)]


@dataclass
class World:
    """Tables every block draws from (see the module docstring); all lists are in table-index order."""

    account: str
    region: str
    webacl_name: str
    webacl_arn: str
    sources: list[Source]
    countries: list[str]  # unique country codes
    ips: list[str]  # all client IPs, grouped by country
    ip_country: np.ndarray  # ip index -> country index
    ip_ua: np.ndarray  # ip index -> user agent index
    ip_group_cdf: np.ndarray  # for grouped_choice(country, u)
    uas: list[tuple[str, str]]  # (user agent, kind)
    uris: list[tuple[str, str]]  # (uri, args), grouped by source; scan URIs after them
    uri_group_cdf: np.ndarray  # for grouped_choice(source, u)
    scan_uri_offset: int
    n_scan_uris: int
    flood_ips: list[int]  # ip indices of flood sources, one per anomaly slot
    scan_ips: list[int]


def grouped_cdf(weights_per_group: list[np.ndarray]) -> np.ndarray:
    """Concatenated CDFs, group ``g`` occupying ``(g, g+1]``: see :func:`grouped_choice`."""
    parts = []
    for g, w in enumerate(weights_per_group):
        c = np.cumsum(np.asarray(w, dtype=np.float64) / np.sum(w))
        c[-1] = 1.0
        parts.append(g + c)
    return np.concatenate(parts)


def grouped_choice(cdf: np.ndarray, group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each item, a weighted choice within its group (global index into the concatenated table)."""
    return np.searchsorted(cdf, group + u, side="right")


def build_world(seed: int, account: str, region: str, webacl_name: str = WEBACL_NAME, n_special: int = 8) -> World:
    """The world for ``seed`` (independent of time: every block of a run sees the same one)."""
    rng = np.random.default_rng([int(seed), 0x5EED])
    acl_uuid = uuid.UUID(bytes=rng.bytes(16), version=4)
    arn = f"arn:aws:wafv2:{region}:{account}:regional/webacl/{webacl_name}/{acl_uuid}"
    sources = _sources(account, region)
    assert [s.name for s in sources] == list(dict.fromkeys(v for v in SOURCE.values())), "sources vs profile"

    countries = list(dict.fromkeys(str(v) for v in COUNTRY.values()))
    pool_size = {"US": 900, "GB": 450, "IN": 350}
    uas = [(ua, kind) for ua, kind, _ in USER_AGENTS] + [(SCANNER_UA, "cli")]
    ua_w = np.array([w for _, _, w in USER_AGENTS], dtype=np.float64)
    ips: list[str] = []
    ip_country: list[int] = []
    ip_ua: list[int] = []
    weights: list[np.ndarray] = []
    for ci, cc in enumerate(countries):
        n = pool_size.get(cc, 40)
        n6 = round(n * 0.15)
        pool = _ipv4(rng, n - n6) + _ipv6(rng, n6)
        order = rng.permutation(n)
        ips += [pool[i] for i in order]
        ip_country += [ci] * n
        ip_ua += rng.choice(len(ua_w), n, p=ua_w / ua_w.sum()).tolist()
        weights.append(1.0 / (np.arange(1, n + 1) ** 0.9))  # Zipf-like: a few heavy hitters
    # special-purpose sources (floods, scanners): fresh IPv4 addresses in a good country, appended
    us = countries.index("US")
    flood_ips, scan_ips = [], []
    for kind in ("flood", "scan"):
        for addr in _ipv4(rng, n_special):
            (flood_ips if kind == "flood" else scan_ips).append(len(ips))
            ips.append(addr)
            ip_country.append(us)
            ip_ua.append(uas.index((FLOOD_UA, "cli")) if kind == "flood" else len(uas) - 1)

    uris: list[tuple[str, str]] = []
    uri_w: list[np.ndarray] = []
    for s in sources:
        uris += [(u, a) for u, a, _ in s.uris]
        uri_w.append(np.array([w for _, _, w in s.uris], dtype=np.float64))
    scan_offset = len(uris)
    scans = scan_uris()
    uris += [(u, "") for u in scans]
    return World(
        account=account,
        region=region,
        webacl_name=webacl_name,
        webacl_arn=arn,
        sources=sources,
        countries=countries,
        ips=ips,
        ip_country=np.array(ip_country, dtype=np.int64),
        ip_ua=np.array(ip_ua, dtype=np.int64),
        ip_group_cdf=grouped_cdf(weights),
        uas=uas,
        uris=uris,
        uri_group_cdf=grouped_cdf(uri_w),
        scan_uri_offset=scan_offset,
        n_scan_uris=len(scans),
        flood_ips=flood_ips,
        scan_ips=scan_ips,
    )
