"""Render records to WAF JSON lines fast: pre-rendered JSON fragments joined per record.

Every record is the concatenation of 12 pieces. Most are looked up in tables of pre-rendered bytes (one entry per
vocabulary value or value pair), the rest (timestamp, request id, the rate-based ``limitValue`` / CAPTCHA solve
time) are computed for a whole chunk with numpy. The literal JSON between the pieces is taken from
``json.dumps`` of a template record per :class:`~simulator.rules.Decision` with sentinel values, so key order,
separators and escaping are exactly ``json.dumps``'s, and every string we emit went through ``json.dumps``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.profile import HTTP_VERSIONS, METHOD, STATUS, STATUS_FOR_TERMINATING_ACTION
from simulator.rules import DECISIONS, DYN_IP, DYN_SOLVE
from simulator.world import World, headers_for

_NAMES = ("TS", "SRC", "SRCID", "DYN", "IP", "CC", "HDR", "URI", "ARGS", "VER", "METH", "RID", "HOST", "ST")
_VARYING = {1, 3, 4, 13}  # literal segments that depend on the decision (before SRC, around DYN, before ST)
_SENTINEL = re.compile(r'"\\u0001(\w+)\\u0001"|"\\u0000(IP|SOLVE)\\u0000"')


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def _s(name: str) -> str:
    return f"\x01{name}\x01"


def _literals(world: World, decision_index: int) -> list[str]:
    """The 15 literal segments around the 14 per-record values, for one decision."""
    d = DECISIONS[decision_index]
    rec: dict[str, Any] = {"timestamp": _s("TS"), "formatVersion": 1, "webaclId": world.webacl_arn, **d.head()}
    rec |= {"httpSourceName": _s("SRC"), "httpSourceId": _s("SRCID"), **d.middle()}
    rec["httpRequest"] = {
        "clientIp": _s("IP"), "country": _s("CC"), "headers": _s("HDR"), "uri": _s("URI"), "args": _s("ARGS"),
        "httpVersion": _s("VER"), "httpMethod": _s("METH"), "requestId": _s("RID"), "fragment": "", "scheme": "https",
        "host": _s("HOST"),
    }  # fmt: skip
    rec |= d.tail()
    rec["httpStatus"] = _s("ST")
    text = _dumps(rec)
    parts = _SENTINEL.split(text)
    literals, names = parts[0::3], [a or "DYN" for a in parts[1::3]]
    if "DYN" not in names:  # no per-record value inside the rule part: an empty one right after SRCID
        names.insert(3, "DYN")
        literals.insert(4, "")
    assert tuple(names) == _NAMES, f"decision {d.name}: unexpected template order {names}"
    return literals


def _table(items: list[bytes]) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


@dataclass
class Chunk:
    """Per-record integer columns of one chunk, in output order."""

    ts: np.ndarray  # epoch ms
    dec: np.ndarray  # index into DECISIONS
    src: np.ndarray  # index into world.sources
    ip: np.ndarray  # index into world.ips (the country follows from it)
    uri: np.ndarray  # index into world.uris
    ver: np.ndarray  # index into HTTP_VERSIONS
    meth: np.ndarray  # index into Renderer.methods
    status: np.ndarray  # index into Renderer.statuses

    def __len__(self) -> int:
        return len(self.ts)

    @staticmethod
    def concat(chunks: list[Chunk]) -> Chunk:
        """All chunks' records together, sorted by timestamp (stable)."""
        cols = {f: np.concatenate([getattr(c, f) for c in chunks]) for f in Chunk.__dataclass_fields__}
        order = np.argsort(cols["ts"], kind="stable")
        return Chunk(**{f: v[order] for f, v in cols.items()})


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)
_B64STD = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width decimal digits of non-negative ints as an (n, width) uint8 array."""
    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.astype(np.int64, copy=True)
    for j in range(width - 1, -1, -1):
        out[:, j] = v % 10 + 48
        v //= 10
    return out


def _rows_to_bytes(mat: np.ndarray) -> list[bytes]:
    mat = np.ascontiguousarray(mat)
    return mat.view(f"S{mat.shape[1]}").ravel().tolist()


def _const(n: int, text: bytes) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))


class Renderer:
    """Turns :class:`Chunk` columns into WAF JSON lines for one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.methods = list(dict.fromkeys(str(v) for v in METHOD.values()))
        statuses = [int(v) for v in STATUS.values()] + list(STATUS_FOR_TERMINATING_ACTION.values())
        statuses += [d.status for d in DECISIONS if d.status is not None]
        self.statuses = list(dict.fromkeys(statuses))
        self.status_index = {s: i for i, s in enumerate(self.statuses)}
        self.n_src, self.n_ua, self.n_dec, self.n_meth = (
            len(world.sources),
            len(world.uas),
            len(DECISIONS),
            len(self.methods),
        )
        self.dec_dyn = np.array([d.dyn for d in DECISIONS], dtype=np.int8)
        self.src_rid_kind = [s.request_id for s in world.sources]

        lits = [_literals(world, i) for i in range(self.n_dec)]
        for k in range(len(lits[0])):
            if k not in _VARYING:
                assert all(lit[k] == lits[0][k] for lit in lits), f"literal {k} differs between decisions"
        lit = [x.encode() for x in lits[0]]
        enc = lambda v: _dumps(v).encode()  # noqa: E731

        self.ts_prefix = lit[0]
        self.t_dec_src = _table([
            lits[d][1].encode() + enc(s.name) + lit[2] + enc(s.source_id) + lits[d][3].encode()
            for d in range(self.n_dec) for s in world.sources
        ])  # fmt: skip
        self.t_after_dyn = _table([lits[d][4].encode() for d in range(self.n_dec)])
        self.t_ip = _table([enc(ip) for ip in world.ips])
        self.t_ip_cc = _table([
            enc(ip) + lit[5] + enc(world.countries[c]) + lit[6]
            for ip, c in zip(world.ips, world.ip_country.tolist(), strict=True)
        ])  # fmt: skip
        self.t_hdr = _table([
            enc(headers_for(s, ua, kind)) + lit[7] for s in world.sources for ua, kind in world.uas
        ])  # fmt: skip
        self.t_uri = _table([enc(u) + lit[8] + enc(a) + lit[9] for u, a in world.uris])
        self.t_ver_meth = _table([
            enc(v) + lit[10] + enc(m) + lit[11] for v, _ in HTTP_VERSIONS for m in self.methods
        ])  # fmt: skip
        self.t_host_tail = _table([
            lit[12] + enc(s.host) + lits[d][13].encode() for s in world.sources for d in range(self.n_dec)
        ])  # fmt: skip
        self.t_status = _table([enc(st) + lit[14] + b"\n" for st in self.statuses])

    # --- computed pieces ------------------------------------------------------------------------------------
    def _timestamps(self, ts: np.ndarray) -> list[bytes]:
        n = len(ts)
        return _rows_to_bytes(np.hstack([_const(n, self.ts_prefix), _digits(ts, 13)]))

    def _request_ids(self, rng: np.random.Generator, src: np.ndarray, ts: np.ndarray) -> np.ndarray:
        out = np.empty(len(src), dtype=object)
        for si, kind in enumerate(self.src_rid_kind):
            mask = src == si
            m = int(mask.sum())
            if m:
                out[mask] = _request_id_strings(rng, kind, ts[mask])
        return out

    def _dyn(self, rng: np.random.Generator, chunk: Chunk) -> np.ndarray:
        out = np.full(len(chunk), b"", dtype=object)
        kind = self.dec_dyn[chunk.dec]
        ipm = kind == DYN_IP
        if ipm.any():
            out[ipm] = self.t_ip[chunk.ip[ipm]]
        solve = kind == DYN_SOLVE
        if solve.any():
            secs = chunk.ts[solve] // 1000 - rng.integers(5, 290, int(solve.sum()))
            out[solve] = [b"%d" % s for s in secs.tolist()]
        return out

    def render(self, chunk: Chunk, rng: np.random.Generator) -> bytes:
        """The chunk as JSON lines (one record per line, ``\\n``-terminated)."""
        n = len(chunk)
        if n == 0:
            return b""
        ua = self.world.ip_ua[chunk.ip]
        pieces = np.empty((n, 11), dtype=object)
        pieces[:, 0] = self._timestamps(chunk.ts)
        pieces[:, 1] = self.t_dec_src[chunk.dec * self.n_src + chunk.src]
        pieces[:, 2] = self._dyn(rng, chunk)
        pieces[:, 3] = self.t_after_dyn[chunk.dec]
        pieces[:, 4] = self.t_ip_cc[chunk.ip]
        pieces[:, 5] = self.t_hdr[chunk.src * self.n_ua + ua]
        pieces[:, 6] = self.t_uri[chunk.uri]
        pieces[:, 7] = self.t_ver_meth[chunk.ver * self.n_meth + chunk.meth]
        pieces[:, 8] = self._request_ids(rng, chunk.src, chunk.ts)
        pieces[:, 9] = self.t_host_tail[chunk.src * self.n_dec + chunk.dec]
        pieces[:, 10] = self.t_status[chunk.status]
        return b"".join(pieces.ravel().tolist())


def _rand(rng: np.random.Generator, m: int, width: int, alphabet: np.ndarray) -> np.ndarray:
    return alphabet[rng.integers(0, len(alphabet), (m, width), dtype=np.uint8)]


def _request_id_strings(rng: np.random.Generator, kind: str, ts: np.ndarray) -> list[bytes]:
    """JSON-quoted request ids in the format of each source kind."""
    m = len(ts)
    q = _const(m, b'"')
    if kind == "trace":  # ALB: the X-Amzn-Trace-Id root, 1-<epoch seconds hex>-<96 random bits hex>
        secs = (ts // 1000).astype(np.int64)
        hexs = np.stack([_HEX[(secs >> (4 * (7 - j))) & 15] for j in range(8)], axis=1)
        parts = [_const(m, b'"1-'), hexs, _const(m, b"-"), _rand(rng, m, 24, _HEX), q]
    elif kind == "cf":  # CloudFront: 56 chars, URL-safe base64 ending in ==
        parts = [q, _rand(rng, m, 54, _B64), _const(m, b'=="')]
    elif kind == "apigw":  # API Gateway: 16 chars of base64 ending in =
        parts = [q, _rand(rng, m, 15, _B64STD), _const(m, b'="')]
    else:  # a version-4 UUID
        h = _rand(rng, m, 32, _HEX)
        h[:, 12] = ord("4")
        h[:, 16] = _HEX[8 + (h[:, 16] & 3)]  # RFC 4122 variant: 8, 9, a or b
        dash = _const(m, b"-")
        parts = [q, h[:, :8], dash, h[:, 8:12], dash, h[:, 12:16], dash, h[:, 16:20], dash, h[:, 20:], q]
    return _rows_to_bytes(np.hstack(parts))
