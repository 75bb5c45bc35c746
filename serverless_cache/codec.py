"""Value encoding shared by every tier: serializer, compression and optional HMAC signing.

Integers are written as ASCII digits so that stores can increment them natively (Redis
``INCRBY``, DynamoDB ``ADD``) and other clients can read them. Everything else is framed as
``header byte + body``; with a signing key the frame is prefixed by an HMAC-SHA256 of it and a
payload whose signature does not verify is rejected *before* it reaches the unpickler.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from serverless_cache.errors import ConfigurationError, DecodeError
from serverless_cache.options import require_choice, require_int
from serverless_cache.tags import Tagged

_PICKLE = 0x01
_JSON = 0x02
_EXTERNAL = 0x03
_ZLIB = 0x10
_SIGNED = 0x20
#: A tagged value under a serializer that cannot keep a Tagged object: ``[value, versions]``.
_TAGGED = 0x40
_MAC_SIZE = 32
_PICKLE_HEADER = bytes((_PICKLE,))
#: Up to this size a payload's body is copied to unpickle it, above it viewed in place.
_COPY_MAX = 4096
_INT_FIRST_BYTES = frozenset(b"-0123456789")


@dataclass(frozen=True)
class CodecSettings:
    """Options that control how values are encoded; shared by every tier."""

    serializer: str = "pickle"
    compress_min_bytes: int | None = None
    compress_level: int = 6
    signing_key: str | bytes | None = None
    pickle_protocol: int = pickle.HIGHEST_PROTOCOL

    def __post_init__(self) -> None:
        require_choice("serializer", self.serializer, ("pickle", "json"))
        require_int("compress_min_bytes", self.compress_min_bytes, optional=True)
        require_int("compress_level", self.compress_level, minimum=0, maximum=9)
        require_int(
            "pickle_protocol", self.pickle_protocol, minimum=2, maximum=pickle.HIGHEST_PROTOCOL
        )
        if self.signing_key is not None and not (
            isinstance(self.signing_key, str | bytes) and self.signing_key
        ):
            raise ConfigurationError("option SIGNING_KEY must be a non-empty str or bytes, or None")

    def __repr__(self) -> str:
        signed = "set" if self.signing_key else "None"
        return (
            f"CodecSettings(serializer={self.serializer!r}, "
            f"compress_min_bytes={self.compress_min_bytes!r}, signing_key={signed})"
        )


class Encoded:
    """A value encoded once for several tiers (a layered write): a tier whose codec equals
    ``codec`` stores ``frame`` (an in-process one ``bare``, the pickle without its header)
    instead of encoding ``value`` again; any other tier encodes ``value`` itself."""

    __slots__ = ("bare", "codec", "frame", "value")

    def __init__(self, value: Any, codec: Codec, frame: bytes, bare: bytes | None) -> None:
        self.value, self.codec, self.frame, self.bare = value, codec, frame, bare


class Serializer(Protocol):
    """An object serializer of another library (cachelib's, as Flask-Caching assigns them)."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class Codec:
    """Turns values into bytes and back; ``loads`` raises DecodeError on anything it distrusts.

    ``serializer`` replaces pickle/json with another library's (Flask-Caching's
    ``CACHE_SERIALIZER``); framing, compression and signing stay the same.
    """

    def __init__(
        self, settings: CodecSettings | None = None, serializer: Serializer | None = None
    ) -> None:
        self.settings = settings = settings or CodecSettings()
        self.serializer = serializer
        self._kind = (
            _EXTERNAL if serializer else _PICKLE if settings.serializer == "pickle" else _JSON
        )
        #: True when a payload is exactly a pickle: in-process tiers skip the framing.
        self.plain_pickle = self._kind == _PICKLE and not (
            settings.signing_key or settings.compress_min_bytes is not None
        )
        self._compress_min = settings.compress_min_bytes
        key = settings.signing_key
        self._key = key.encode() if isinstance(key, str) else key
        #: An unsigned pickle is unpickled only when pickle is the configured serializer: a
        #: deployment that chose JSON never runs a pickle someone wrote into its store.
        self._unsigned_pickle = self._key is None and self._kind == _PICKLE

    def same_as(self, other: Codec) -> bool:
        """Whether ``other`` writes exactly what this codec writes (and reads it back)."""
        return other is self or (
            other.settings == self.settings and other.serializer is self.serializer
        )

    def encode_once(self, value: Any) -> Encoded:
        """``value`` encoded for every tier whose codec is the same as this one."""
        if self.plain_pickle:
            bare = pickle.dumps(value, self.settings.pickle_protocol)
            return Encoded(value, self, _PICKLE_HEADER + bare, bare)
        return Encoded(value, self, self.dumps(value), None)

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``; a value the serializer cannot handle raises its own error."""
        if type(value) is Encoded:
            if value.codec is self or self.same_as(value.codec):
                return value.frame
            value = value.value
        if type(value) is int:
            return str(value).encode()
        header = self._kind
        if type(value) is Tagged and header != _PICKLE:
            value, header = [value.value, [list(pair) for pair in value.versions]], header | _TAGGED
        if self._kind == _PICKLE:
            body = pickle.dumps(value, self.settings.pickle_protocol)
        elif self.serializer is not None:
            body = self.serializer.dumps(value)
        else:
            body = json.dumps(value, separators=(",", ":")).encode()
        if self._compress_min is not None and len(body) >= self._compress_min:
            compressed = zlib.compress(body, self.settings.compress_level)
            if len(compressed) < len(body):
                body, header = compressed, header | _ZLIB
        frame = bytes((header,)) + body
        if self._key is None:
            return frame
        mac = hmac.new(self._key, frame, hashlib.sha256).digest()
        return bytes((_SIGNED,)) + mac + frame

    def loads_many(
        self,
        pairs: Iterable[tuple[str, bytes | None]],
        undecodable: Callable[[str, DecodeError], object],
    ) -> dict[str, Any]:
        """The values of the ``(key, payload)`` pairs that have a payload, by key; one that
        cannot be decoded goes to ``undecodable``. A batch read's loop, with :meth:`loads`'s
        common case (a small unsigned pickle) written inline."""
        found: dict[str, Any] = {}
        inline = self._unsigned_pickle
        header, unpickle, loads = _PICKLE_HEADER, pickle.loads, self.loads
        for key, data in pairs:
            if data is None:
                continue
            if inline and data[:1] == header and len(data) <= _COPY_MAX:
                try:
                    found[key] = unpickle(data[1:])
                except Exception as exc:
                    name = type(exc).__name__
                    undecodable(key, DecodeError(f"payload could not be unpickled ({name})"))
                continue
            try:
                found[key] = loads(data)
            except DecodeError as exc:
                undecodable(key, exc)
        return found

    def loads(self, data: bytes) -> Any:
        """Decode a payload written by :meth:`dumps`; never unpickles an unverified payload."""
        if self._unsigned_pickle and data[:1] == _PICKLE_HEADER:  # the common case, first
            # A small body is cheaper to copy than to view; a large one is viewed, not copied.
            body = data[1:] if len(data) <= _COPY_MAX else memoryview(data)[1:]
            try:
                return pickle.loads(body)
            except Exception as exc:
                raise DecodeError(
                    f"payload could not be unpickled ({type(exc).__name__})"
                ) from None
        if not data:
            raise DecodeError("empty payload")
        first = data[0]
        if first in _INT_FIRST_BYTES:
            try:
                return int(data)
            except ValueError:
                raise DecodeError("payload looks like an integer but is not one") from None
        if self._key is not None:
            if first != _SIGNED or len(data) < 1 + _MAC_SIZE + 1:
                raise DecodeError("payload is not signed but SIGNING_KEY is set")
            mac, frame = data[1 : 1 + _MAC_SIZE], data[1 + _MAC_SIZE :]
            expected = hmac.new(self._key, frame, hashlib.sha256).digest()
            if not hmac.compare_digest(mac, expected):
                raise DecodeError("payload signature does not match SIGNING_KEY")
            data, first = frame, frame[0]
        elif first == _SIGNED:
            raise DecodeError("payload is signed but no SIGNING_KEY is configured")
        elif first & ~(_ZLIB | _TAGGED) == _PICKLE and not self._unsigned_pickle:
            raise DecodeError("payload is an unsigned pickle but SERIALIZER is not pickle")
        kind, body = first & ~(_ZLIB | _TAGGED), data[1:]
        try:
            if first & _ZLIB:
                body = zlib.decompress(body)
            if kind == _PICKLE:
                return pickle.loads(body)
            if kind == _JSON:
                return _tagged(json.loads(body), first)
            if kind == _EXTERNAL and self.serializer is not None:
                return _tagged(self.serializer.loads(body), first)
        except Exception as exc:
            raise DecodeError(f"payload could not be decoded ({type(exc).__name__})") from None
        raise DecodeError(f"unknown payload header 0x{first:02x}")


def _tagged(value: Any, header: int) -> Any:
    """A value decoded from a frame with ``header``: rebuilt as a Tagged one when flagged."""
    if not header & _TAGGED:
        return value
    inner, versions = value
    return Tagged(inner, tuple((str(tag), int(version)) for tag, version in versions))
