#!/usr/bin/env python3
"""A Forge script worker in plain Python 3 (standard library only).

It speaks the Forge script protocol (docs/forge-script-protocol.md): length-prefixed msgpack
frames on stdin/stdout, logs on stderr. Use it as a template for wrapping a real model: replace
the bodies of the four handlers with calls into your model (transformers, diffusers, kokoro...).
As shipped, the handlers are trivial stand-ins so that the protocol can be tested anywhere:
  qwen3vl.infer      reports each PNG's size read from its header
  zimage.generate    draws a seeded colour gradient PNG
  kokoro.synthesize  plays a tone per word (WAV or PCM, 24 kHz)
  sam3.segment       streams empty masks per frame

Run it under malamute with:
  ScriptHost({ command: "python3", args: ["examples/forge/scripts/forge_worker.py"] })
"""
import math
import queue
import random
import struct
import sys
import threading
import zlib

PROTOCOL = 1

# ---------------------------------------------------------------- msgpack (subset, no ext types)

def pack(value, out=None):
    out = bytearray() if out is None else out
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        if 0 <= value < 0x80:
            out.append(value)
        elif -32 <= value < 0:
            out.append(value & 0xFF)
        elif 0 <= value <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", value)
        elif 0 <= value:
            out += b"\xcf" + struct.pack(">Q", value)
        else:
            out += b"\xd3" + struct.pack(">q", value)
    elif isinstance(value, float):
        out += b"\xcb" + struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        n = len(raw)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 0x10000:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += raw
    elif isinstance(value, (bytes, bytearray, memoryview)):
        n = len(value)
        out += (b"\xc4" + struct.pack(">B", n)) if n < 0x100 else (b"\xc5" + struct.pack(">H", n)) if n < 0x10000 else (b"\xc6" + struct.pack(">I", n))
        out += bytes(value)
    elif isinstance(value, (list, tuple)):
        n = len(value)
        out += bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n) if n < 0x10000 else b"\xdd" + struct.pack(">I", n)
        for item in value:
            pack(item, out)
    elif isinstance(value, dict):
        n = len(value)
        out += bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n) if n < 0x10000 else b"\xdf" + struct.pack(">I", n)
        for k, v in value.items():
            pack(k, out)
            pack(v, out)
    else:
        raise TypeError("cannot pack %r" % type(value))
    return out


def unpack(data):
    value, end = _unpack(memoryview(data), 0)
    if end != len(data):
        raise ValueError("trailing bytes after msgpack value")
    return value


def _unpack(b, o):
    t = b[o]
    o += 1
    if t < 0x80:
        return t, o
    if t >= 0xE0:
        return t - 0x100, o
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return bytes(b[o:o + n]).decode("utf-8"), o + n
    if 0x90 <= t <= 0x9F:
        return _array(b, o, t & 0x0F)
    if 0x80 <= t <= 0x8F:
        return _map(b, o, t & 0x0F)
    simple = {0xC0: None, 0xC2: False, 0xC3: True}
    if t in simple:
        return simple[t], o
    fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
    if t in fixed:
        size = struct.calcsize(fixed[t])
        return struct.unpack(fixed[t], b[o:o + size])[0], o + size
    lengths = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I"}
    if t in lengths:
        size = struct.calcsize(lengths[t])
        n = struct.unpack(lengths[t], b[o:o + size])[0]
        o += size
        if t in (0xC4, 0xC5, 0xC6):
            return bytes(b[o:o + n]), o + n
        if t in (0xD9, 0xDA, 0xDB):
            return bytes(b[o:o + n]).decode("utf-8"), o + n
        return _array(b, o, n) if t in (0xDC, 0xDD) else _map(b, o, n)
    raise ValueError("unsupported msgpack type 0x%02x" % t)


def _array(b, o, n):
    items = []
    for _ in range(n):
        item, o = _unpack(b, o)
        items.append(item)
    return items, o


def _map(b, o, n):
    result = {}
    for _ in range(n):
        k, o = _unpack(b, o)
        v, o = _unpack(b, o)
        result[k] = v
    return result, o

# ---------------------------------------------------------------- framing

_write_lock = threading.Lock()


def send(message):
    body = bytes(pack(message))
    with _write_lock:
        sys.stdout.buffer.write(struct.pack(">I", len(body)) + body)
        sys.stdout.buffer.flush()


def read_frames(stream, inbox):
    """Reader thread: every frame goes to `inbox`; cancels also flag their call at once."""
    while True:
        head = stream.read(4)
        if len(head) < 4:
            inbox.put(None)
            return
        (size,) = struct.unpack(">I", head)
        message = unpack(stream.read(size))
        if message.get("type") == "cancel":
            CANCELLED.add(message.get("id"))
        inbox.put(message)


CANCELLED = set()


class Cancelled(Exception):
    pass


class Call:
    def __init__(self, message):
        self.id = message["id"]
        self.deadline = message.get("deadline")

    def progress(self, done, total, stage=None):
        value = {"done": done, "total": total}
        if stage:
            value["stage"] = stage
        send({"type": "progress", "id": self.id, "value": value})

    def chunk(self, value):
        send({"type": "chunk", "id": self.id, "value": value})

    def check(self):
        """Call between steps of a long job: stops it when the caller cancelled."""
        if self.id in CANCELLED:
            raise Cancelled()

# ---------------------------------------------------------------- media helpers

def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def png_encode(width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def wav_encode(samples, rate):
    pcm = b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767)) for s in samples)
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm, pcm

# ---------------------------------------------------------------- handlers (replace with your model)

def qwen3vl_infer(call, inp):
    parts = []
    for i, image in enumerate(inp["images"]):
        call.check()
        size = png_size(image["data"])
        parts.append("Image %d is a %d×%d PNG." % (i + 1, size[0], size[1]) if size else "Image %d is %s." % (i + 1, image["mimeType"]))
    text = " ".join(parts)
    words = len(text.split())
    prompt_words = len(inp["prompt"].split())
    return {"text": text, "finishReason": "stop", "usage": {"promptTokens": prompt_words, "completionTokens": words, "totalTokens": prompt_words + words}, "model": "python-stand-in"}


def zimage_generate(call, inp):
    width, height = inp.get("width", 1024), inp.get("height", 1024)
    seed = inp.get("seed", random.getrandbits(32))
    rnd = random.Random(seed)
    a = [rnd.randrange(256) for _ in range(3)]
    b = [rnd.randrange(256) for _ in range(3)]
    rows = []
    for y in range(height):
        if y % 64 == 0:
            call.check()
            call.progress(y, height, "render")
        t = y / max(1, height - 1)
        pixel = bytes(int(a[c] + (b[c] - a[c]) * t) for c in range(3))
        rows.append(pixel * width)
    return {"png": png_encode(width, height, rows), "seed": seed, "width": width, "height": height, "model": "python-stand-in"}


def kokoro_synthesize(call, inp):
    fmt = inp.get("format", "wav")
    if fmt not in ("wav", "pcm"):
        raise ValueError("FORGE_UNSUPPORTED:this stand-in produces wav and pcm only")
    rate, speed = 24000, inp.get("speed", 1.0)
    samples = []
    for i, word in enumerate(inp["text"].split()):
        call.check()
        freq = 180 + 40 * (len(word) % 5)
        n = int(rate * 0.25 / speed)
        samples += [0.3 * math.sin(2 * math.pi * freq * k / rate) * min(1, k / 200, (n - k) / 200) for k in range(n)]
        samples += [0.0] * int(rate * 0.05 / speed)
    wav, pcm = wav_encode(samples, rate)
    return {"audio": wav if fmt == "wav" else pcm, "format": fmt, "sampleRate": rate, "duration": len(samples) / rate, "model": "python-stand-in"}


def sam3_segment(call, inp):
    video = inp["video"]
    frames = video["frames"] if video["kind"] == "frames" else []
    if not frames:
        raise ValueError("FORGE_UNSUPPORTED:this stand-in takes a list of frames")
    fps = video.get("fps", 25)
    width, height = png_size(frames[0]["data"]) or (0, 0)
    for i in range(len(frames)):
        call.check()
        call.chunk({"type": "progress", "done": i, "total": len(frames)})
        call.chunk({"type": "frame", "frame": i, "time": i / fps, "objects": []})
    call.chunk({"type": "summary", "frames": len(frames), "width": width, "height": height, "fps": fps, "objects": [], "model": "python-stand-in"})
    return None


HANDLERS = {
    "qwen3vl.infer": qwen3vl_infer,
    "zimage.generate": zimage_generate,
    "kokoro.synthesize": kokoro_synthesize,
    "sam3.segment": sam3_segment,
}

# ---------------------------------------------------------------- main loop

def main():
    inbox = queue.Queue()
    threading.Thread(target=read_frames, args=(sys.stdin.buffer, inbox), daemon=True).start()
    # Load the model here, before saying ready: the host waits (startTimeoutMs) for this message.
    send({"type": "ready", "protocol": PROTOCOL, "name": "python-stand-in", "concurrency": 1, "methods": sorted(HANDLERS)})
    while True:
        message = inbox.get()
        if message is None or message.get("type") == "shutdown":
            return
        if message.get("type") != "call":
            continue  # cancels were handled by the reader thread
        call = Call(message)
        handler = HANDLERS.get(message.get("method"))
        try:
            if handler is None:
                send({"type": "error", "id": call.id, "code": "RPC_UNKNOWN_METHOD", "message": "no method %s" % message.get("method")})
                continue
            send({"type": "result", "id": call.id, "value": handler(call, message.get("input") or {})})
        except Cancelled:
            send({"type": "error", "id": call.id, "code": "RPC_CANCELLED", "message": "cancelled"})
        except Exception as exc:  # every failure becomes a typed error, never a crash
            code, _, text = str(exc).partition(":") if str(exc).startswith("FORGE_") else ("RPC_INTERNAL", "", str(exc))
            send({"type": "error", "id": call.id, "code": code, "message": text or str(exc)})
        finally:
            CANCELLED.discard(call.id)


if __name__ == "__main__":
    main()
