"""RPC envelope (docs/rpc-wire.md 2-3): a msgpack header map and, for some kinds, one msgpack
payload right after it in the same frame, plus out-of-band binary frames (ext type 1).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Sequence

import msgpack

from .errors import RpcError

VERSION = 2
CANCEL_STREAM = "malamute.rpc.cancel"
PAYLOAD_KINDS = frozenset({"call", "progress", "chunk", "result", "error"})
KINDS = PAYLOAD_KINDS | {"ack", "end", "cancel"}
BINARY_EXT = 1

Frame = bytes | bytearray | memoryview


class _Ref:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _BadExt:
    __slots__ = ()


@dataclass
class Envelope:
    """A decoded envelope: the header map and the payload (None for kinds without one)."""

    header: dict[str, Any]
    payload: Any = None
    payload_bytes: int = 0
    """Bytes counted against a payload limit: the envelope frame after the header, plus binary frames."""

    @property
    def kind(self) -> str:
        return str(self.header["kind"])


def _ext_hook(code: int, data: bytes) -> object:
    if code == BINARY_EXT and len(data) == 4:
        return _Ref(struct.unpack(">I", data)[0])
    return _BadExt()


def _bad(message: str) -> RpcError:
    return RpcError("RPC_BAD_ENVELOPE", message)


def decode(content: Sequence[Frame]) -> Envelope:
    """Decodes content frames (envelope frame, then binary frames); RpcError RPC_BAD_ENVELOPE if invalid.

    Example::

        env = decode(msg.content)
        if env.kind == "call": ...
    """
    if not content:
        raise _bad("no envelope frame")
    data = content[0]
    unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=True,
                                max_buffer_size=max(len(data), 1024))
    try:
        unpacker.feed(data)
        header = unpacker.unpack()
    except Exception as error:
        raise _bad(f"bad msgpack header: {error}") from None
    if not isinstance(header, dict) or header.get("version") != VERSION or not isinstance(header.get("kind"), str):
        raise _bad("the header is not a version 2 envelope map")
    kind = header["kind"]
    if kind not in KINDS:
        raise _bad(f"unknown kind {kind!r}")
    if any(isinstance(v, (_Ref, _BadExt)) for v in header.values()):
        raise _bad("ext value in the header")
    _check_header(header)
    header_end = unpacker.tell()
    payload: Any = None
    if kind in PAYLOAD_KINDS:
        try:
            payload = unpacker.unpack()
        except Exception as error:
            raise _bad(f"bad msgpack payload: {error}") from None
        used: set[int] = set()
        payload = _resolve(payload, content, used)
        if len(used) != len(content) - 1:
            raise _bad("a binary frame is not referenced")
    elif len(content) > 1:
        raise _bad(f"{kind} carries no binary frames")
    if unpacker.tell() != len(data):
        raise _bad("bytes after the envelope")
    return Envelope(header, payload, len(data) - header_end + sum(len(f) for f in content[1:]))


_UINT_KEYS = {"timeout", "deadline", "seq", "count"}


def _check_header(header: dict[str, Any]) -> None:
    kind = header["kind"]
    required = {"call": ("timeout", "deadline"), "chunk": ("seq",), "end": ("count",), "ack": ("worker",)}.get(kind, ())
    for key in required:
        if key not in header:
            raise _bad(f"{kind} without {key}")
    for key in _UINT_KEYS & header.keys():
        value = header[key]
        if isinstance(value, float) and value.is_integer():
            header[key] = value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _bad(f"{key} is not an unsigned integer")
    if kind == "ack" and not isinstance(header["worker"], str):
        raise _bad("ack worker is not a string")
    meta = header.get("meta")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise _bad("meta is not a map of strings")
    if "code" in header and not isinstance(header["code"], str):
        raise _bad("cancel code is not a string")


def _resolve(value: Any, frames: Sequence[Frame], used: set[int]) -> Any:
    if isinstance(value, _Ref):
        index = value.index
        if index + 1 >= len(frames) or index in used:
            raise _bad(f"bad binary frame reference {index}")
        used.add(index)
        return frames[index + 1]
    if isinstance(value, _BadExt):
        raise _bad("unsupported msgpack ext type")
    if isinstance(value, dict):
        return {k: _resolve(v, frames, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, frames, used) for v in value]
    return value


def encode(header: dict[str, Any], payload: Any = None, *, threshold: float = 65536) -> list[Frame]:
    """Content frames for an envelope: bytes of at least ``threshold`` go out of band (0 = never).

    Example::

        frames = encode({"kind": "result"}, {"text": "A cat.", "tokens": 3})
    """
    head = {"version": VERSION, **header}
    out = bytearray(msgpack.packb(head, use_bin_type=True))
    frames: list[Frame] = [b""]
    if head["kind"] in PAYLOAD_KINDS:
        limit = threshold if threshold and threshold > 0 else float("inf")
        out += msgpack.packb(_extract(payload, frames, limit), use_bin_type=True)
    frames[0] = bytes(out)
    return frames


def _extract(value: Any, frames: list[Frame], limit: float) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        if len(value) >= limit:
            frames.append(value)
            return msgpack.ExtType(BINARY_EXT, struct.pack(">I", len(frames) - 2))
        return bytes(value) if isinstance(value, memoryview) else value
    if isinstance(value, dict):
        return {k: _extract(v, frames, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_extract(v, frames, limit) for v in value]
    return value


def payload_size(header: dict[str, Any], frames: Sequence[Frame]) -> int:
    """Bytes of encoded ``frames`` counted against a payload limit: all but the header."""
    head = len(msgpack.packb({"version": VERSION, **header}, use_bin_type=True))
    return sum(len(f) for f in frames) - head
