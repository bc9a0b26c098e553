#!/usr/bin/env python3
"""A Python worker for the Forge ``kokoro.synthesize`` contract, on the ``malamute`` package.

    npm run broker                                     # terminal 1: a broker on tcp://127.0.0.1:9999
    python3 examples/forge/python/kokoro_worker.py     # terminal 2: this worker

It stands in for the real model with a tone per word (so it runs without weights); replace
``synthesize_wav`` with a call into Kokoro. Options: --endpoint, --concurrency.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import struct
import sys
import wave
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import malamute  # noqa: E402

SAMPLE_RATE = 24_000
MODEL = "kokoro-demo-python"


def synthesize_wav(text: str, speed: float, ctx: malamute.CallContext) -> tuple[bytes, float]:
    """One 440-880 Hz tone per word; reports progress per word and stops when cancelled."""
    words = text.split() or [text]
    frames = bytearray()
    seconds = 0.25 / speed
    for index, word in enumerate(words):
        if ctx.cancelled.is_set():
            break
        pitch = 440 + (sum(word.encode()) % 440)
        count = int(SAMPLE_RATE * seconds)
        frames += b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / SAMPLE_RATE)))
                           for i in range(count))
        ctx.progress({"done": index + 1, "total": len(words), "stage": "synthesizing"})
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(bytes(frames))
    return out.getvalue(), len(frames) / 2 / SAMPLE_RATE


def synthesize(input: dict[str, Any], ctx: malamute.CallContext) -> dict[str, Any]:
    # A plain function runs in a thread, so the model's blocking work does not stall the worker.
    fmt = input.get("format", "wav")
    if fmt != "wav":
        raise malamute.RpcError("UNSUPPORTED_FORMAT", f"this demo worker writes wav, not {fmt}")
    audio, duration = synthesize_wav(input["text"], float(input.get("speed", 1)), ctx)
    return {"audio": audio, "format": "wav", "sampleRate": SAMPLE_RATE, "duration": duration, "model": MODEL}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:9999")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "kokoro.schema.json")) as f:
        schema = json.load(f)
    worker = await malamute.serve(args.endpoint, schema, {"synthesize": synthesize}, concurrency=args.concurrency)
    print(f"kokoro worker ready on {args.endpoint}", flush=True)
    await worker.wait_closed()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
