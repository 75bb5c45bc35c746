from __future__ import annotations

import pickle
import threading
import zlib
from typing import Any

import pytest

from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import ConfigurationError, DecodeError

CALLS: list[str] = []


def record_call() -> str:
    CALLS.append("unpickled")
    return "pwned"


class Exploit:
    """Unpickling this runs record_call: the shape of a real pickle attack."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (record_call, ())


@pytest.mark.parametrize(
    "value", [None, True, 1.5, "text", b"bytes", [1, {"a": (2, 3)}], {"nested": {"x": None}}]
)
def test_round_trip(value: Any) -> None:
    codec = Codec()
    assert codec.loads(codec.dumps(value)) == value


@pytest.mark.parametrize("value", [0, 42, -7, 2**70])
def test_integers_are_plain_digits_so_stores_can_increment_them(value: int) -> None:
    codec = Codec(CodecSettings(signing_key="k"))
    assert codec.dumps(value) == str(value).encode()
    assert codec.loads(b"%d" % (value + 1)) == value + 1


def test_bool_is_not_stored_as_an_integer() -> None:
    codec = Codec()
    assert codec.loads(codec.dumps(True)) is True


def test_compression_above_threshold_only() -> None:
    codec = Codec(CodecSettings(compress_min_bytes=100))
    small, large = "x" * 10, "x" * 10_000
    assert len(codec.dumps(large)) < 200
    assert codec.loads(codec.dumps(large)) == large
    assert codec.dumps(small) == Codec().dumps(small)


def test_json_serializer() -> None:
    codec = Codec(CodecSettings(serializer="json", compress_min_bytes=0))
    assert codec.loads(codec.dumps({"a": [1, 2]})) == {"a": [1, 2]}
    with pytest.raises(TypeError):
        codec.dumps({1, 2})


def test_signed_round_trip_and_tamper_rejected_before_unpickling() -> None:
    codec = Codec(CodecSettings(signing_key="secret"))
    payload = codec.dumps({"user": 1})
    assert codec.loads(payload) == {"user": 1}

    forged = payload[:33] + b"\x01" + pickle.dumps(Exploit())
    with pytest.raises(DecodeError, match="signature"):
        codec.loads(forged)
    flipped = bytearray(payload)
    flipped[-1] ^= 1
    with pytest.raises(DecodeError, match="signature"):
        codec.loads(bytes(flipped))
    assert CALLS == []


def test_unsigned_payload_rejected_when_signing_is_on() -> None:
    unsigned = Codec().dumps(Exploit())
    with pytest.raises(DecodeError, match="not signed"):
        Codec(CodecSettings(signing_key=b"secret")).loads(unsigned)
    assert CALLS == []


def test_value_signed_with_another_key_is_rejected() -> None:
    theirs = Codec(CodecSettings(signing_key="theirs")).dumps("x")
    with pytest.raises(DecodeError):
        Codec(CodecSettings(signing_key="ours")).loads(theirs)
    with pytest.raises(DecodeError, match="no SIGNING_KEY"):
        Codec().loads(theirs)


@pytest.mark.parametrize("payload", [b"", b"\x01garbage", b"\x7fxyz", b"12x", b"\x11notzlib"])
def test_garbage_is_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        Codec().loads(payload)


def test_unpicklable_value_raises_the_pickling_error() -> None:
    with pytest.raises((pickle.PicklingError, TypeError)):
        Codec().dumps(threading.Lock())


def test_repr_hides_the_signing_key() -> None:
    assert "hunter2" not in repr(CodecSettings(signing_key="hunter2"))


@pytest.mark.parametrize(
    "options",
    [
        {"serializer": "yaml"},
        {"compress_min_bytes": -1},
        {"signing_key": ""},
        {"compress_level": "9"},
        {"compress_level": 12},
        {"pickle_protocol": 99},
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CodecSettings(**options)


@pytest.mark.parametrize("settings", [CodecSettings(), CodecSettings(compress_min_bytes=0)])
def test_a_value_encoded_once_is_what_an_equal_codec_writes(settings: CodecSettings) -> None:
    value = {"rows": list(range(100))}
    encoded = Codec(settings).encode_once(value)
    other = Codec(settings)
    assert other.dumps(encoded) == encoded.frame == other.dumps(value)
    assert other.loads(encoded.frame) == value
    bare = encoded.bare
    assert (bare is not None) == other.plain_pickle
    if bare is not None:
        assert pickle.loads(bare) == value


def test_a_codec_of_other_settings_encodes_the_value_itself() -> None:
    encoded = Codec().encode_once({"x": 1})
    signed = Codec(CodecSettings(signing_key="key"))
    frame = signed.dumps(encoded)
    assert frame != encoded.frame and signed.loads(frame) == {"x": 1}
    assert Codec().loads(Codec().dumps(Codec().encode_once([7]))) == [7]


@pytest.mark.parametrize("size", [10, 4096, 100_000])
def test_pickled_payloads_of_every_size_round_trip(size: int) -> None:
    codec, value = Codec(), {"blob": "x" * size}
    assert codec.loads(codec.dumps(value)) == value


@pytest.mark.parametrize(
    "settings", [CodecSettings(), CodecSettings(signing_key="secret")], ids=["plain", "signed"]
)
def test_a_batch_decodes_as_loads_does_and_reports_each_bad_payload(
    settings: CodecSettings,
) -> None:
    codec = Codec(settings)
    large = "x" * 10_000  # above the size whose body is copied: viewed in place
    pairs = [
        ("absent", None),
        ("record", codec.dumps({"a": [1]})),
        ("count", codec.dumps(42)),
        ("large", codec.dumps(large)),
        ("truncated", codec.dumps({"a": [1]})[:-3]),
        ("garbage", b"\x01not a pickle"),
    ]
    if settings.signing_key:  # unsigned, a pickle is a pickle: only a signature can refuse it
        pairs.append(("forged", b"\x01" + pickle.dumps(Exploit())))
    bad: dict[str, DecodeError] = {}
    found = codec.loads_many(pairs, bad.__setitem__)
    assert found == {"record": {"a": [1]}, "count": 42, "large": large}
    assert sorted(bad) == sorted(key for key, _ in pairs[4:])
    assert CALLS == []  # the forged payload was never unpickled
    for key, payload in pairs:
        if key in bad:
            with pytest.raises(DecodeError):
                codec.loads(payload or b"")


@pytest.mark.parametrize("header", [0x01, 0x11, 0x41, 0x51], ids=hex)
def test_a_json_codec_never_unpickles_an_unsigned_pickle(header: int) -> None:
    codec = Codec(CodecSettings(serializer="json"))
    body = pickle.dumps(Exploit())
    payload = bytes((header,)) + (zlib.compress(body) if header & 0x10 else body)
    with pytest.raises(DecodeError, match="SERIALIZER"):
        codec.loads(payload)
    bad: dict[str, DecodeError] = {}
    assert codec.loads_many([("k", payload)], bad.__setitem__) == {}
    assert list(bad) == ["k"] and CALLS == []
