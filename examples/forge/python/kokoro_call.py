#!/usr/bin/env python3
"""Calls ``kokoro.synthesize`` from Python and writes the WAV:

    python3 examples/forge/python/kokoro_call.py "Hello from Python" out.wav [--endpoint tcp://127.0.0.1:9999]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import malamute  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("text")
    parser.add_argument("out")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:9999")
    args = parser.parse_args()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "kokoro.schema.json")) as f:
        schema = json.load(f)
    client = await malamute.connect(args.endpoint, schema)
    try:
        out = await client.call("kokoro", "synthesize", {"text": args.text}, timeout=30,
                                on_progress=lambda p: print(f"{p['done']}/{p['total']}", flush=True))
    finally:
        await client.close()
    with open(args.out, "wb") as f:
        f.write(out["audio"])
    print(f"wrote {args.out}: {out['duration']:.2f} s of {out['format']} from {out['model']}", flush=True)


asyncio.run(main())
