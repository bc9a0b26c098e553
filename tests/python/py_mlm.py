"""Plain MLM with malamute.MlmClient, for tests/python/mlm.test.ts: mailbox with a forwarded
CONFIRM, stream write/read, service offer/request with credit. Prints one JSON line per step.

Usage: py_mlm.py ENDPOINT
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from malamute import MlmClient, proto  # noqa: E402


def out(name, value):
    print(json.dumps({"name": name, "value": value}), flush=True)


def summary(msg):
    return {"id": msg.id, **msg.fields, "content": [bytes(c).decode() for c in msg.content]}


async def main():
    endpoint = sys.argv[1]
    inbox_a: asyncio.Queue = asyncio.Queue()
    inbox_b: asyncio.Queue = asyncio.Queue()
    a = await MlmClient.connect(endpoint, "py-a", on_message=inbox_a.put_nowait)
    b = await MlmClient.connect(endpoint, "py-b", on_message=inbox_b.put_nowait)
    out("features", sorted(a.features))

    async def next_of(inbox):
        return summary(await asyncio.wait_for(inbox.get(), 5))

    a.mailbox_send("py-b", "hello", [b"x", b"y"], tracker="t1", timeout=5000)
    out("mailbox", await next_of(inbox_b))
    b.confirm("t1", 200, "done")
    out("confirm", await next_of(inbox_a))

    await b.stream_read("weather", "^temp")
    await a.stream_write("weather")
    a.stream_send("wind.x", [b"3"])
    a.stream_send("temp.x", [b"21"])
    out("stream", await next_of(inbox_b))

    await b.service_offer("echo", ".*")
    b.credit(1)
    a.service_send("echo", "ping", [b"p1"], tracker="s1", timeout=5000)
    a.service_send("echo", "ping", [b"p2"], tracker="s2", timeout=5000)
    out("service", await next_of(inbox_b))
    await asyncio.sleep(0.2)
    out("held-by-credit", inbox_b.qsize())
    b.confirm("s1", 200)
    b.credit(1)
    out("service-2", await next_of(inbox_b))
    await a.close()
    await b.close()
    out("proto-ping", proto.encode(proto.CONNECTION_PING).hex())


asyncio.run(main())
