"""MLM header frames (docs/rpc-wire.md 1, ../shared/docs/mlm-protocol.md 2-3): encode and decode.

Pure functions on bytes; no sockets. Strings are 1 length byte + UTF-8, numbers big-endian.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = b"\xaa\xa8"

CONNECTION_OPEN = 1
CONNECTION_PING = 2
CONNECTION_PONG = 3
CONNECTION_CLOSE = 4
STREAM_WRITE = 5
STREAM_READ = 6
STREAM_DELIVER = 8
STREAM_SEND = 7
MAILBOX_SEND = 9
MAILBOX_DELIVER = 10
SERVICE_SEND = 11
SERVICE_OFFER = 12
SERVICE_DELIVER = 13
OK = 14
ERROR = 15
CREDIT = 16
CONFIRM = 17
STREAM_CANCEL = 18

# Field layouts: "s" = string, "2"/"4" = big-endian number of that many bytes.
LAYOUT: dict[int, tuple[tuple[str, str], ...]] = {
    CONNECTION_OPEN: (("protocol", "s"), ("version", "2"), ("address", "s")),
    CONNECTION_PING: (),
    CONNECTION_PONG: (),
    CONNECTION_CLOSE: (),
    STREAM_WRITE: (("stream", "s"),),
    STREAM_READ: (("stream", "s"), ("pattern", "s")),
    STREAM_SEND: (("subject", "s"),),
    STREAM_DELIVER: (("address", "s"), ("sender", "s"), ("subject", "s")),
    MAILBOX_SEND: (("address", "s"), ("subject", "s"), ("tracker", "s"), ("timeout", "4")),
    MAILBOX_DELIVER: (("sender", "s"), ("address", "s"), ("subject", "s"), ("tracker", "s")),
    SERVICE_SEND: (("address", "s"), ("subject", "s"), ("tracker", "s"), ("timeout", "4")),
    SERVICE_OFFER: (("address", "s"), ("pattern", "s")),
    SERVICE_DELIVER: (("sender", "s"), ("address", "s"), ("subject", "s"), ("tracker", "s")),
    OK: (("code", "2"), ("reason", "s")),
    ERROR: (("code", "2"), ("reason", "s")),
    CREDIT: (("amount", "2"),),
    CONFIRM: (("tracker", "s"), ("code", "2"), ("reason", "s")),
    STREAM_CANCEL: (("stream", "s"),),
}


@dataclass
class Message:
    """One decoded MLM message: ``id``, header ``fields`` and the content frames."""

    id: int
    fields: dict[str, str | int]
    content: list[bytes | memoryview] = field(default_factory=list)

    def s(self, name: str) -> str:
        value = self.fields.get(name, "")
        return value if isinstance(value, str) else str(value)

    def n(self, name: str) -> int:
        value = self.fields.get(name, 0)
        return value if isinstance(value, int) else 0


def encode(msg_id: int, **fields: str | int) -> bytes:
    """Header frame of a message; strings longer than 255 bytes are a ValueError.

    Example::

        encode(STREAM_WRITE, stream="weather") == b"\\xaa\\xa8\\x05\\x07weather"
    """
    out = bytearray(SIGNATURE)
    out.append(msg_id)
    for name, kind in LAYOUT[msg_id]:
        value = fields.get(name, "" if kind == "s" else 0)
        if kind == "s":
            data = str(value).encode("utf-8")
            if len(data) > 255:
                raise ValueError(f"MLM string field {name} is longer than 255 bytes")
            out.append(len(data))
            out += data
        else:
            out += struct.pack(">H" if kind == "2" else ">I", int(value))
    return bytes(out)


def decode(frame: bytes | memoryview) -> Message | None:
    """Decodes a header frame; None for anything malformed or unknown (ignored by readers)."""
    data = bytes(frame)
    if len(data) < 3 or data[:2] != SIGNATURE or data[2] not in LAYOUT:
        return None
    msg_id = data[2]
    pos = 3
    fields: dict[str, str | int] = {}
    try:
        for name, kind in LAYOUT[msg_id]:
            if kind == "s":
                size = data[pos]
                raw = data[pos + 1:pos + 1 + size]
                if len(raw) != size:
                    return None
                fields[name] = raw.decode("utf-8", errors="replace")
                pos += 1 + size
            else:
                width = 2 if kind == "2" else 4
                raw = data[pos:pos + width]
                if len(raw) != width:
                    return None
                fields[name] = int.from_bytes(raw, "big")
                pos += width
    except IndexError:
        return None
    return Message(msg_id, fields)
