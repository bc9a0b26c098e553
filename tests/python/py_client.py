"""Python caller for tests/python/interop.test.ts, against a TypeScript worker.

Usage: py_client.py ENDPOINT SCHEMA_JSON [resend]. Prints one JSON line per scenario; with
"resend", one call that must survive a broker restart.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import malamute  # noqa: E402


def out(name: str, value) -> None:
    print(json.dumps({"name": name, "value": value}), flush=True)


async def outcome(coro):
    try:
        return {"ok": await coro}
    except malamute.RpcError as error:
        return {"code": error.code, "message": error.message, "details": error.details}


async def main() -> None:
    endpoint, schema_path = sys.argv[1:3]
    with open(schema_path) as f:
        schema = json.load(f)
    # A tiny high-water mark, so that bursts go through the client's send backlog.
    client = await malamute.connect(endpoint, schema, binary_threshold=16, send_hwm=10)
    if sys.argv[3:] == ["resend"]:
        out("resend", await outcome(client.call("qwen3vl", "infer", {"prompt": "survive"}, timeout=15)))
        out("reopens", client.mlm.reopens)
        await client.close()
        return
    progress = []
    out("unary", await outcome(client.call("qwen3vl", "infer", {"prompt": "hello"}, on_progress=progress.append)))
    out("progress", progress)
    image = bytes(range(256)) * 4
    out("binary", await outcome(client.call("qwen3vl", "infer", {"prompt": "img", "image": image})))
    out("stream", [c async for c in client.stream("qwen3vl", "tokens", {"prompt": "a b c"})])
    # 3000 calls sent in one event-loop turn: far more than the socket's high-water mark.
    many = await asyncio.gather(*(client.call("qwen3vl", "infer", {"prompt": str(i)}) for i in range(3000)))
    out("many", sum(1 for i, r in enumerate(many) if r["text"] == f"ts:{i}:0"))
    out("handler-error", await outcome(client.call("qwen3vl", "infer", {"prompt": "fail"})))
    out("invalid-input", await outcome(client.call("qwen3vl", "infer", {"prompt": 5})))
    out("deadline", await outcome(client.call("qwen3vl", "infer", {"prompt": "hang"}, timeout=0.3)))
    task = asyncio.create_task(client.call("qwen3vl", "infer", {"prompt": "hang"}))
    await asyncio.sleep(0.3)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        out("cancel", "cancelled")
    await client.close()


asyncio.run(main())
