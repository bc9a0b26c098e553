"""Encodes the examples of docs/rpc-wire.md with python/malamute and prints {name: [frame hex]}
as JSON, for tests/python/wire.test.ts to compare with the TypeScript encoder. Each envelope is
also decoded again, and must give back what was encoded.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from malamute import envelope, proto  # noqa: E402
from malamute.proto import encode as mlm  # noqa: E402

CALLER, WORKER, CALL_ID = "rpc-client-9f2c", "rpc-worker-qwen3vl-a1b2", "k3x9q2.1"
TIMEOUT, DEADLINE, REPLY_TIMEOUT = 30000, 1767225630000, 35000
PNG = bytes.fromhex("89504e47")
BIG_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000400")

blocks = {}


def env(header, payload=None, threshold=float("inf")):
    frames = envelope.encode(header, payload, threshold=threshold)
    back = envelope.decode(frames)
    assert back.header == {"version": 2, **header}, back.header
    assert back.payload == payload, (back.payload, payload)
    return frames


def put(name, header, content=()):
    blocks[name] = [bytes(f).hex() for f in [header, *content]]


def reply(subject, content):
    return mlm(proto.MAILBOX_SEND, address=CALLER, subject=subject, tracker=CALL_ID, timeout=REPLY_TIMEOUT), content


call = env({"kind": "call", "timeout": TIMEOUT, "deadline": DEADLINE}, {"prompt": "Describe", "image": PNG})
binary = env({"kind": "call", "timeout": TIMEOUT, "deadline": DEADLINE}, {"prompt": "Describe", "image": BIG_PNG}, 16)
result = env({"kind": "result"}, {"text": "A cat.", "tokens": 3})
put("open", mlm(proto.CONNECTION_OPEN, protocol="MALAMUTE", version=1, address=""))
put("credit", mlm(proto.CREDIT, amount=1))
put("offer", mlm(proto.SERVICE_OFFER, address="qwen3vl", pattern=".*"))
put("control-open", mlm(proto.CONNECTION_OPEN, protocol="MALAMUTE", version=1, address=WORKER))
put("control-read", mlm(proto.STREAM_READ, stream=envelope.CANCEL_STREAM, pattern="^qwen3vl/"))
put("hello", mlm(proto.CONFIRM, tracker="", code=1, reason=""))
put("withdraw", mlm(proto.CONFIRM, tracker=CALL_ID, code=305, reason=""))
put("call-send", mlm(proto.SERVICE_SEND, address="qwen3vl", subject="infer", tracker=CALL_ID, timeout=TIMEOUT), call)
put("call-deliver", mlm(proto.SERVICE_DELIVER, sender=CALLER, address="qwen3vl", subject="infer", tracker=CALL_ID), call)
put("call-binary", mlm(proto.SERVICE_SEND, address="qwen3vl", subject="infer", tracker=CALL_ID, timeout=TIMEOUT), binary)
put("ack", *reply("ack", env({"kind": "ack", "worker": WORKER})))
put("progress", *reply("progress", env({"kind": "progress"}, {"tokens": 12})))
put("result", *reply("result", result))
put("result-deliver", mlm(proto.MAILBOX_DELIVER, sender="", address=CALLER, subject="result", tracker=CALL_ID), result)
put("confirm", mlm(proto.CONFIRM, tracker=CALL_ID, code=200, reason=""))
put("error", *reply("error", env({"kind": "error"}, {
    "code": "RPC_VALIDATION", "message": "qwen3vl.infer: invalid input at /prompt: must be string"})))
put("chunk", *reply("chunk", env({"kind": "chunk", "seq": 0}, "A")))
put("end", *reply("end", env({"kind": "end", "count": 3})))
put("cancel-direct", mlm(proto.MAILBOX_DELIVER, sender=CALLER, address=WORKER, subject="cancel", tracker=CALL_ID),
    env({"kind": "cancel"}))
put("cancel-stream", mlm(proto.STREAM_DELIVER, address=envelope.CANCEL_STREAM, sender=CALLER, subject=f"qwen3vl/{CALL_ID}"),
    env({"kind": "cancel", "deadline": DEADLINE}))
print(json.dumps(blocks))
