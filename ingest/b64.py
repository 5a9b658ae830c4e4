"""Base64 for the transform's hot path: pybase64 (SIMD) when importable, binascii otherwise.

CPython's decoder costs about as much as parsing the JSON it carries; pybase64 is ~20x faster. The Lambda zips
bundle pybase64 when the build machine has a matching wheel; the code works without it.
"""

from __future__ import annotations

import binascii

try:  # pragma: no cover - exercised through whichever branch is installed
    import pybase64 as _pybase64
except ImportError:  # pragma: no cover
    _pybase64 = None

HAVE_PYBASE64 = _pybase64 is not None
Error = binascii.Error


if _pybase64 is not None:
    _b64decode = _pybase64.b64decode

    def decode(data: str | bytes) -> bytes:
        """Strict decode: anything outside the base64 alphabet or badly padded raises :class:`binascii.Error`."""
        # positional (altchars, validate): pybase64's keyword parsing costs more than decoding a 4 KB record
        return _b64decode(data, None, True)

    encode = _pybase64.b64encode_as_string  # bytes → ASCII str
else:  # pragma: no cover

    def decode(data: str | bytes) -> bytes:
        """Strict decode: anything outside the base64 alphabet or badly padded raises :class:`binascii.Error`."""
        return binascii.a2b_base64(data, strict_mode=True)

    def encode(data: bytes) -> str:
        return binascii.b2a_base64(data, newline=False).decode("ascii")
