"""Render records to WAF JSON lines fast: pre-rendered JSON fragments joined per record.

Every record is the concatenation of 8 pieces. Most are looked up in tables of pre-rendered bytes (one entry per
vocabulary value or value pair), the rest (timestamp, request id, the rate-based ``limitValue`` / CAPTCHA solve
time) are computed for a whole chunk with numpy. The literal JSON between the pieces is taken from
``json.dumps`` of a template record per :class:`~simulator.rules.Decision` with sentinel values, so key order,
separators and escaping are exactly ``json.dumps``'s, and every string we emit went through ``json.dumps``.
"""

from __future__ import annotations

import io
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
        self.src_kind = np.array([RID_KINDS.index(s.request_id) for s in world.sources], dtype=np.int64)

        lits = [_literals(world, i) for i in range(self.n_dec)]
        for k in range(len(lits[0])):
            if k not in _VARYING:
                assert all(lit[k] == lits[0][k] for lit in lits), f"literal {k} differs between decisions"
        lit = [x.encode() for x in lits[0]]
        enc = lambda v: _dumps(v).encode()  # noqa: E731

        self.ts_prefix = lit[0]
        has_dyn = [bool(self.dec_dyn[d]) for d in range(self.n_dec)]
        # up to clientIp's value, or up to the per-record value inside the rule part (then _dyn adds the rest)
        self.t_head = _table([
            lits[d][1].encode() + enc(s.name) + lit[2] + enc(s.source_id) + lits[d][3].encode()
            + (b"" if has_dyn[d] else lits[d][4].encode())
            for d in range(self.n_dec) for s in world.sources
        ])  # fmt: skip
        self.after_dyn = [lits[d][4].encode() for d in range(self.n_dec)]
        self.t_ip = _table([enc(ip) for ip in world.ips])
        ip_cc = [enc(ip) + lit[5] + enc(world.countries[c]) + lit[6]
                 for ip, c in zip(world.ips, world.ip_country.tolist(), strict=True)]  # fmt: skip
        hdr = [enc(headers_for(s, ua, kind)) + lit[7] for s in world.sources for ua, kind in world.uas]
        self.t_ip_cc = _table(ip_cc)
        self.t_hdr = _table(hdr)
        ver_meth = [enc(v) + lit[10] + enc(m) + lit[11] for v, _ in HTTP_VERSIONS for m in self.methods]
        self.n_vm = len(ver_meth)
        uris = [enc(u) + lit[8] + enc(a) + lit[9] for u, a in world.uris]
        self.t_uri_vm = _table([u + vm for u in uris for vm in ver_meth])
        status = [enc(st) + lit[14] + b"\n" for st in self.statuses]
        self.n_st = len(status)
        host_tail = [lit[12] + enc(s.host) + lits[d][13].encode() for s in world.sources for d in range(self.n_dec)]
        self.t_tail = _table([ht + st for ht in host_tail for st in status])
        self._bio = io.BytesIO()
        self._views: tuple[memoryview, ...] = ()

    # --- computed pieces ------------------------------------------------------------------------------------
    def _timestamps(self, ts: np.ndarray) -> list[bytes]:
        n = len(ts)
        return _rows_to_bytes(np.hstack([_const(n, self.ts_prefix), _digits(ts, 13)]))

    def _request_ids(self, rng: np.random.Generator, src: np.ndarray, ts: np.ndarray):
        """Per source kind: (record positions, JSON-quoted request ids as an (m, width) uint8 matrix)."""
        kinds = self.src_kind[src]
        for k, name in enumerate(RID_KINDS):
            (where,) = np.nonzero(kinds == k)
            if len(where):
                yield where, _request_id_matrix(rng, name, ts[where])

    def _dyn(self, rng: np.random.Generator, chunk: Chunk) -> np.ndarray:
        """The rule part's per-record value (rate-based limitValue, CAPTCHA solve time) and what follows it."""
        out = np.full(len(chunk), b"", dtype=object)
        kind = self.dec_dyn[chunk.dec]
        for dyn in (DYN_IP, DYN_SOLVE):
            (where,) = np.nonzero(kind == dyn)
            if not len(where):
                continue
            if dyn == DYN_IP:
                values = self.t_ip[chunk.ip[where]].tolist()
            else:
                secs = chunk.ts[where] // 1000 - rng.integers(5, 290, len(where))
                values = [b"%d" % x for x in secs.tolist()]
            after = self.after_dyn
            out[where] = [v + after[d] for v, d in zip(values, chunk.dec[where].tolist(), strict=True)]
        return out

    def render(self, chunk: Chunk, rng: np.random.Generator) -> bytes:
        """The chunk as JSON lines (one record per line, ``\\n``-terminated)."""
        return bytes(self.render_view(chunk, rng))

    def render_view(self, chunk: Chunk, rng: np.random.Generator) -> memoryview:
        """The chunk as JSON lines in a reused buffer: the view is valid until the next call (compress or copy it).

        Reusing one buffer, instead of allocating fresh memory per chunk, matters: on some kernels the page faults
        cost more than the copying itself."""
        for view in self._views:
            view.release()
        self._views = ()
        if not len(chunk):
            return memoryview(b"")
        return self._render(chunk, rng)

    def _render(self, chunk: Chunk, rng: np.random.Generator) -> memoryview:
        n = len(chunk)
        pieces = np.empty((n, 8), dtype=object)
        pieces[:, 0] = self._timestamps(chunk.ts)
        pieces[:, 1] = self.t_head[chunk.dec * self.n_src + chunk.src]
        pieces[:, 2] = self._dyn(rng, chunk)
        pieces[:, 3] = self.t_ip_cc[chunk.ip]
        pieces[:, 4] = self.t_hdr[chunk.src * self.n_ua + self.world.ip_ua[chunk.ip]]
        pieces[:, 5] = self.t_uri_vm[chunk.uri * self.n_vm + chunk.ver * self.n_meth + chunk.meth]
        for where, mat in self._request_ids(rng, chunk.src, chunk.ts):
            pieces[where, 6] = _rows_to_bytes(mat)
        pieces[:, 7] = self.t_tail[(chunk.src * self.n_dec + chunk.dec) * self.n_st + chunk.status]
        bio = self._bio
        bio.seek(0)
        bio.writelines(pieces.ravel().tolist())
        size = bio.tell()
        base = bio.getbuffer()
        view = base[:size]
        self._views = (view, base)
        return view


def _rand(rng: np.random.Generator, m: int, width: int, alphabet: np.ndarray) -> np.ndarray:
    """Random characters from a 16- or 64-letter alphabet (random bytes masked: uniform, and fast)."""
    raw = np.frombuffer(rng.bytes(m * width), dtype=np.uint8).reshape(m, width)
    return alphabet[raw & (len(alphabet) - 1)]


RID_KINDS = ("trace", "cf", "apigw", "uuid")
#: (template with "." for random characters, alphabet); "trace" also has 8 "s" for the epoch seconds in hex
_RID_TEMPLATES = {
    "trace": (b'"1-ssssssss-........................"', _HEX),  # ALB: X-Amzn-Trace-Id root
    "cf": (b'"' + b"." * 54 + b'=="', _B64),  # CloudFront: 56 chars of URL-safe base64
    "apigw": (b'"' + b"." * 15 + b'="', _B64STD),  # API Gateway: 16 chars of base64
    "uuid": (b'"........-....-4...-v...-............"', _HEX),  # version-4 UUID, variant 8/9/a/b at "v"
}


def _request_id_matrix(rng: np.random.Generator, kind: str, ts: np.ndarray) -> np.ndarray:
    """JSON-quoted request ids in the format of one source kind, as an (m, width) uint8 matrix."""
    template, alphabet = _RID_TEMPLATES[kind]
    tpl = np.frombuffer(template, dtype=np.uint8)
    m = len(ts)
    mat = np.empty((m, len(tpl)), dtype=np.uint8)
    mat[:] = tpl
    (rand_cols,) = np.nonzero(tpl == ord("."))
    mat[:, rand_cols] = _rand(rng, m, len(rand_cols), alphabet)
    if kind == "trace":
        secs = ts // 1000
        for j, col in enumerate(np.nonzero(tpl == ord("s"))[0]):
            mat[:, col] = _HEX[(secs >> (4 * (7 - j))) & 15]
    elif kind == "uuid":
        (col,) = np.nonzero(tpl == ord("v"))[0]
        mat[:, col] = _HEX[8 + (mat[:, col + 1] & 3)]  # RFC 4122 variant
    return mat
