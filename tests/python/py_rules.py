"""Rules of docs/rpc-wire.md checked on python/malamute without a broker, for tests/python/rules.test.ts:
the worker and the caller run against a fake MLM session that records what they send; the MLM
client runs against a scripted ROUTER. Prints one JSON line {"name", "value"} per check.

Usage: py_rules.py SCHEMA_JSON
"""
import asyncio
import json
import os
import sys

import msgpack
import zmq
import zmq.asyncio

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from malamute import Contract, MlmClient, RpcError, envelope, proto, worker as worker_module  # noqa: E402
from malamute.client import RpcClient  # noqa: E402
from malamute.proto import Message  # noqa: E402
from malamute.worker import Worker  # noqa: E402


def out(name, value):
    print(json.dumps({"name": name, "value": value}), flush=True)


class FakeMlm:
    """Records what an RPC peer sends instead of sending it."""

    def __init__(self, extended=True):
        self.extended = extended
        self.features = {"confirm", "credit", "withdraw"} if extended else set()
        self.sent = []

    def mailbox_send(self, address, subject, content, tracker="", timeout=0):
        env = envelope.decode(content)
        self.sent.append({"op": "mailbox", "address": address, "tracker": tracker, "timeout": timeout,
                          "header": env.header, "payload": env.payload})

    def service_send(self, service, subject, content, tracker="", timeout=0):
        self.sent.append({"op": "service", "tracker": tracker, "header": envelope.decode(content).header})

    def stream_send(self, subject, content):
        self.sent.append({"op": "stream", "subject": subject})

    def confirm(self, tracker, code, reason=""):
        self.sent.append({"op": "confirm", "tracker": tracker, "code": code})

    def credit(self, amount):
        self.sent.append({"op": "credit", "amount": amount})


# msgpack-python refuses to write ext -1 directly: ext 99 stands for it and is rewritten.
TIMESTAMP = msgpack.ExtType(99, b"\x00\x00\x00\x01")


def pack(*values):
    data = b"".join(msgpack.packb(v, use_bin_type=True) for v in values)
    return data.replace(b"\xd6\x63\x00\x00\x00\x01", b"\xd6\xff\x00\x00\x00\x01")


def deliver(sender, subject, tracker, frames, msg_id=proto.SERVICE_DELIVER):
    return Message(msg_id, {"sender": sender, "address": "qwen3vl", "subject": subject, "tracker": tracker},
                   list(frames))


def outcome(fn):
    try:
        fn()
        return "ok"
    except RpcError as error:
        return "unknown-kind" if type(error).__name__ == "UnknownKind" else error.code


async def settle(fake, count):
    for _ in range(200):
        if len([s for s in fake.sent if s["op"] == "confirm"]) >= count:
            return
        await asyncio.sleep(0.01)


async def worker_rules(schema):
    seen = {}

    async def infer(input, ctx):
        seen["deadline_ms"] = ctx.deadline_ms
        seen["remaining"] = str(ctx.remaining)
        await asyncio.sleep(0.05)
        return {"text": input["prompt"], "tokens": 1}

    def tokens(input, ctx):
        yield "a"

    w = Worker(Contract(schema), {"infer": infer, "tokens": tokens}, 1, 65536, 1 << 20)
    w.calls = w.control = fake = FakeMlm()
    # timeout 0: no deadline; replies with MLM timeout 0.
    w._on_call(deliver("c", "infer", "t0", [pack({"version": 2, "kind": "call", "timeout": 0, "deadline": 0},
                                                 {"prompt": "forever"})]))
    await settle(fake, 1)
    replies = [s for s in fake.sent if s["op"] == "mailbox"]
    out("no-deadline", {"kinds": [r["header"]["kind"] for r in replies], "timeouts": [r["timeout"] for r in replies],
                        "payload": replies[-1]["payload"], "ctx": seen})
    # The header's id answers; the CONFIRM carries the delivery's tracker.
    fake.sent.clear()
    now = worker_module.now_ms()
    header = {"version": 2, "kind": "call", "timeout": 5000, "deadline": now + 5000, "id": "real-id"}
    w._on_call(deliver("c", "infer", "wrong-tracker", [pack(header, {"prompt": "x"})]))
    await settle(fake, 1)
    out("header-id", [(s["op"], s["tracker"]) for s in fake.sent if s["op"] in ("mailbox", "confirm")])
    fake.sent.clear()
    w._on_call(deliver("c", "nope", "tr2", [pack(header, {"prompt": "x"})]))
    out("header-id-rejected", [(s["op"], s["tracker"], (s.get("payload") or {}).get("code")) for s in fake.sent
                               if s["op"] in ("mailbox", "confirm")])
    fake.sent.clear()
    w._on_call(deliver("c", "infer", "tr3", [pack({**header, "id": 5}, {"prompt": "x"})]))
    out("header-id-not-a-string", [(s["op"], s["tracker"], (s.get("payload") or {}).get("code")) for s in fake.sent
                                   if s["op"] in ("mailbox", "confirm")])
    # Without credit (C Malamute) a worker holds concurrency + max_waiting calls, refuses more;
    # an anonymous caller gets no reply (its call is still confirmed).
    w2 = Worker(Contract(schema), {"infer": infer, "tokens": tokens}, 1, 65536, 1 << 20, max_waiting=1)
    w2.calls = w2.control = fake2 = FakeMlm(extended=False)
    fake2.features = {"confirm"}
    for i in range(3):
        w2._on_call(deliver("c", "infer", f"m{i}", [pack({**header, "id": f"m{i}"}, {"prompt": "x"})]))
    w2._on_call(deliver("", "infer", "anon", [pack({"version": 2, "kind": "call", "timeout": 0, "deadline": 0}, {"prompt": 1})]))
    await settle(fake2, 4)
    out("max-waiting", {"replies": sorted((s["tracker"], s["header"]["kind"]) for s in fake2.sent if s["op"] == "mailbox"),
                        "confirms": sorted(s["tracker"] for s in fake2.sent if s["op"] == "confirm"),
                        "refused": w2.stats["waiting_refused"]})
    # A chunk or progress value over max_payload ends the call with one final error; the handler stops.
    def big_tokens(input, ctx):
        yield "small"
        yield "x" * 200
        yield "never"

    async def big_progress(input, ctx):
        ctx.progress({"tokens": 1, "pad": "x" * 200})
        return {"text": "never", "tokens": 0}

    w3 = Worker(Contract(schema), {"infer": big_progress, "tokens": big_tokens}, 2, 65536, 100)
    w3.calls = w3.control = fake3 = FakeMlm()
    w3._on_call(deliver("c", "tokens", "big-chunk", [pack(header, {"prompt": "x"})]))
    w3._on_call(deliver("c", "infer", "big-progress", [pack({**header, "id": "big-progress"}, {"prompt": "x"})]))
    await settle(fake3, 2)
    out("too-large", {"replies": [(s["tracker"], s["header"]["kind"], (s["payload"] or {}).get("code") if isinstance(s["payload"], dict) else s["payload"])
                                  for s in fake3.sent if s["op"] == "mailbox" and s["header"]["kind"] != "ack"]})
    # Cancel memory: 60 s for a direct cancel, never more than 1 hour.
    w._on_control(Message(proto.MAILBOX_DELIVER, {"sender": "c", "tracker": "d1"}, [pack({"version": 2, "kind": "cancel"})]))
    w._on_control(Message(proto.STREAM_DELIVER, {"sender": "c", "subject": "qwen3vl/s1"},
                          [pack({"version": 2, "kind": "cancel", "deadline": now + 7_200_000})]))
    w._on_control(Message(proto.STREAM_DELIVER, {"sender": "c", "subject": "qwen3vl/s2"},
                          [pack({"version": 2, "kind": "result"}, 1)]))
    after = worker_module.now_ms()
    direct = w.early[("c", "d1")][0]
    published = w.early[("c", "s1")][0]
    out("cancel-memory", {"direct": now + 60_000 <= direct <= after + 60_000,
                          "capped": now + 3_600_000 <= published <= after + 3_600_000,
                          "ignored": w.stats["control_ignored"]})


def envelope_rules():
    call = {"version": 2, "kind": "call", "timeout": 1, "deadline": 1}
    ts = TIMESTAMP
    ref = msgpack.ExtType(1, b"\x00\x00\x00\x00")
    key32 = bytes([0xDB, 0, 0, 0, 1]) + b"k"
    cases = {
        "timestamp": [pack(call, {"t": ts})],
        "timestamp+frame": [pack(call, {"t": ts, "b": ref}), b"xy"],
        "ext5+frame": [pack(call, {"t": msgpack.ExtType(5, b"1234"), "b": ref}), b"xy"],
        "bin-key": [pack(call, {b"k": 1})],
        "bin-key+frame": [pack(call, {b"k": 1, "b": ref}), b"xy"],
        "int-key+frame": [pack(call) + b"\x82\x01\x01\xa1b" + msgpack.packb(ref), b"xy"],
        "str32-key": [pack(call) + b"\x81" + key32 + b"\x01"],
        "str32-key+frame": [pack(call) + b"\x82" + key32 + b"\x01\xa1b" + msgpack.packb(ref), b"xy"],
        "timestamp-in-header": [pack({**call, "at": ts}, 1)],
        "seq-2^53-1": [pack({"version": 2, "kind": "chunk", "seq": 2**53 - 1}, "a")],
        "seq-2^53": [pack({"version": 2, "kind": "chunk", "seq": 2**53}, "a")],
        "seq-2.0": [pack({"version": 2, "kind": "chunk", "seq": 2.0}, "a")],
        "unknown-kind": [pack({"version": 2, "kind": "hint", "x": 1}, {"any": "thing"}), b"frame"],
        "no-kind": [pack({"version": 2})],
        "kind-not-a-string": [pack({"version": 2, "kind": 7})],
        "unknown-kind-v3": [pack({"version": 3, "kind": "hint"})],
    }
    out("envelope", {name: outcome(lambda f=frames: envelope.decode(f)) for name, frames in cases.items()})


def number_rules(schema):
    c = Contract(schema)
    checks = {
        "number-int": ({"type": "number"}, 2), "number-float": ({"type": "number"}, 2.5),
        "number-2^53": ({"type": "number"}, 2**53), "number-2^53+1": ({"type": "number"}, 2**53 + 1),
        "number--2^53-1": ({"type": "number"}, -(2**53) - 1), "number-big-float": ({"type": "number"}, 2.0**60),
        "integer-2.0": ({"type": "integer"}, 2.0), "integer-2^53-1": ({"type": "integer"}, 2**53 - 1),
        "integer-2^53": ({"type": "integer"}, 2**53), "integer--(2^53-1)": ({"type": "integer"}, -(2**53 - 1)),
        "integer--2^53": ({"type": "integer"}, -(2**53)),
    }
    out("numbers", {name: not c.validate(s, v) for name, (s, v) in checks.items()})


async def caller_rules(schema):
    results = {}
    for extended in (True, False):
        client = RpcClient([Contract(schema)], 5.0, 65536)
        client.mlm = FakeMlm(extended)
        call = client._begin("qwen3vl", "infer", {"prompt": "x"}, 5, None, None)
        sent = client.mlm.sent[0]
        results["extended" if extended else "classic"] = sent["header"].get("id") == call.call_id
        client._settle(call)
    out("call-id-header", results)

    client = RpcClient([Contract(schema)], 5.0, 65536)
    client.max_buffered_chunks = 2
    client.stats = getattr(client, "stats", {"unknown_kinds": 0, "stale": 0})
    fake = client.mlm = FakeMlm()

    def reply(call_id, header, *payload, sender="w"):
        frames = [pack({"version": 2, **header}, *payload)]
        client._on_message(Message(proto.MAILBOX_DELIVER, {"sender": sender, "tracker": call_id}, frames))

    async def run(method, input, feed, stream=False, **opts):
        fake.sent.clear()
        if stream:
            call = client._begin("qwen3vl", method, input, 5, None, None)
            feed(call.call_id)
            try:
                return {"ok": [c async for c in _drain(client, call)], "sent": [s["op"] for s in fake.sent[1:]]}
            except RpcError as error:
                return {"code": error.code, "details": error.details, "sent": [s["op"] for s in fake.sent[1:]]}
        task = asyncio.ensure_future(client.call("qwen3vl", method, input, timeout=5, **opts))
        await asyncio.sleep(0)
        call_id = fake.sent[0]["tracker"]
        feed(call_id)
        try:
            return {"ok": await task, "sent": [s["op"] for s in fake.sent[1:]]}
        except RpcError as error:
            return {"code": error.code, "details": error.details, "sent": [s["op"] for s in fake.sent[1:]]}

    def unknown_then_result(call_id):
        reply(call_id, {"kind": "hint", "more": 1}, {"x": 1})
        reply(call_id, {"kind": "result"}, {"text": "t", "tokens": 1})

    out("unknown-kind", {**await run("infer", {"prompt": "x"}, unknown_then_result), "stats": client.stats["unknown_kinds"]})
    out("error-without-message", await run("infer", {"prompt": "x"},
                                           lambda i: reply(i, {"kind": "error"}, {"code": "X"})))
    out("no-kind", await run("infer", {"prompt": "x"}, lambda i: reply(i, {"worker": "w"})))
    out("bad-progress", await run("infer", {"prompt": "x"}, lambda i: reply(i, {"kind": "progress"}, {"tokens": "many"}),
                                  on_progress=lambda p: None))

    def chunks(n):
        def feed(call_id):
            for i in range(n):
                reply(call_id, {"kind": "chunk", "seq": i}, str(i))
            if n <= 2:
                reply(call_id, {"kind": "end", "count": n})
        return feed

    out("buffered-chunks-at-limit", await run("tokens", {"prompt": "x"}, chunks(2), stream=True))
    out("buffered-chunks-over-limit", await run("tokens", {"prompt": "x"}, chunks(3), stream=True))
    fake.sent.clear()
    stale = client.stats["stale"]
    reply("gone.1", {"kind": "ack", "worker": "wk"})
    out("late-ack", {"sent": [(s["op"], s.get("address"), s["tracker"], s["header"]["kind"]) for s in fake.sent],
                     "stale": client.stats["stale"] - stale})


async def _drain(client, call):
    while True:
        kind, value = await client._next(call)
        if kind == "end":
            client._settle(call)
            return
        yield value


async def mlm_rules():
    """ERROR 300 is answered by a PING, never a re-open; an ERROR 500 to that PING re-opens."""
    ctx = zmq.asyncio.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    log = []

    async def broker():
        while True:
            peer, header, *_ = await router.recv_multipart()
            msg = proto.decode(header)
            log.append((peer.hex(), msg.id))
            if msg.id == proto.CONFIRM:
                await router.send_multipart([peer, proto.encode(proto.OK, code=200, reason="malamute-ext/1 confirm")])
            elif msg.id == proto.CONNECTION_OPEN:
                await router.send_multipart([peer, proto.encode(proto.OK, code=200, reason="")])
            elif msg.id == proto.CONNECTION_PING:
                await router.send_multipart([peer, proto.encode(proto.ERROR, code=500, reason="")])
            if len([e for e in log if e[1] == proto.CONNECTION_OPEN]) == 1 and msg.id == proto.CONNECTION_OPEN:
                await router.send_multipart([peer, proto.encode(proto.ERROR, code=300, reason="")])

    task = asyncio.ensure_future(broker())
    client = await MlmClient.connect(f"tcp://127.0.0.1:{port}", "me", on_message=lambda m: None, heartbeat=60)
    for _ in range(300):
        if client.reopens:
            break
        await asyncio.sleep(0.01)
    names = {proto.CONFIRM: "HELLO", proto.CONNECTION_OPEN: "OPEN", proto.CONNECTION_PING: "PING"}
    peers = []
    for peer, _ in log:
        if peer not in peers:
            peers.append(peer)
    out("error-300", {"sequence": [(peers.index(p), names.get(i, i)) for p, i in log], "reopens": client.reopens})
    await client.close()
    task.cancel()
    router.close(linger=0)


async def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    for section in (worker_rules(schema), caller_rules(schema), mlm_rules()):
        try:
            await asyncio.wait_for(section, 5)
        except Exception as error:  # a broken section is reported, the others still run
            out("crashed", repr(error))
    envelope_rules()
    number_rules(schema)


asyncio.run(main())
