"""RPC caller: ``await connect(endpoint, schema)``, then ``call`` and ``stream`` (docs/rpc-wire.md 4-5)."""
from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any, AsyncIterator, Callable

from . import envelope, proto
from .errors import RpcError
from .mlm import NO_MAILBOX_CONFIRMS, MlmClient
from .proto import Message
from .schema import JSON, Contract, MethodSpec

_CONFIRM_CODES = {301: "RPC_DEADLINE_EXCEEDED", 302: "RPC_RESOURCE_EXHAUSTED", 305: "RPC_CANCELLED"}


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Call:
    def __init__(self, call_id: str, service: str, spec: MethodSpec, deadline: int,
                 on_progress: Callable[[Any], None] | None) -> None:
        self.call_id = call_id
        self.service = service
        self.spec = spec
        self.deadline = deadline
        self.on_progress = on_progress
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.worker: str | None = None
        self.received = 0
        self.settled = False
        self.frames: list[Any] = []


class RpcClient:
    """A caller for one or more contracts. Close it with ``await client.close()``.

    Example::

        client = await connect("tcp://127.0.0.1:9999", schema)
        out = await client.call("qwen3vl", "infer", {"prompt": "hi"}, timeout=10, on_progress=print)
        async for token in client.stream("qwen3vl", "tokens", {"prompt": "hi"}):
            print(token)
    """

    def __init__(self, contracts: list[Contract], default_timeout: float, binary_threshold: float,
                 send_hwm: int = 1000) -> None:
        self.send_hwm = send_hwm
        self.contracts = {c.service: c for c in contracts}
        self.default_timeout = default_timeout
        self.binary_threshold = binary_threshold
        self.address = f"rpc-client-{secrets.token_hex(4)}"
        self._prefix = secrets.token_hex(3)
        self._counter = 0
        self._calls: dict[str, _Call] = {}
        self.mlm: MlmClient | None = None

    async def _start(self, endpoint: str) -> None:
        self.mlm = await MlmClient.connect(endpoint, self.address, on_message=self._on_message,
                                           hello_flags=NO_MAILBOX_CONFIRMS, send_hwm=self.send_hwm)
        self.mlm.on_reopen = self._resend
        await self.mlm.stream_write(envelope.CANCEL_STREAM)

    def _spec(self, service: str, method: str) -> MethodSpec:
        contract = self.contracts.get(service)
        if contract is None or method not in contract.methods:
            raise RpcError("RPC_UNKNOWN_METHOD", f"{service}.{method}: not in the contracts of this client")
        return contract.methods[method]

    def _begin(self, service: str, method: str, input: Any, timeout: float | None,
               on_progress: Callable[[Any], None] | None, meta: dict[str, str] | None) -> _Call:
        assert self.mlm is not None
        spec = self._spec(service, method)
        contract = self.contracts[service]
        issues = contract.validate(spec.input, input)
        if issues:
            first = issues[0]
            raise RpcError("RPC_VALIDATION", f"{service}.{method}: invalid input at {first.path}: {first.message}",
                           {"role": "input", "issues": [{"path": i.path, "message": i.message} for i in issues]})
        seconds = timeout if timeout is not None else (spec.timeout / 1000 if spec.timeout else self.default_timeout)
        ms = max(1, int(seconds * 1000))
        self._counter += 1
        call = _Call(f"{self._prefix}.{self._counter}", service, spec, _now_ms() + ms, on_progress)
        header: dict[str, Any] = {"kind": "call", "timeout": ms, "deadline": call.deadline}
        if meta:
            header["meta"] = meta
        call.frames = envelope.encode(header, input, threshold=self.binary_threshold)
        self._calls[call.call_id] = call
        self.mlm.service_send(service, method, call.frames, tracker=call.call_id, timeout=ms)
        return call

    def _resend(self) -> None:
        # After a lost session: send unfinished calls again, same id, remaining deadline.
        assert self.mlm is not None
        for call in self._calls.values():
            left = call.deadline - _now_ms()
            if left > 0 and not call.settled:
                self.mlm.service_send(call.service, call.spec.name, call.frames, tracker=call.call_id, timeout=left)

    async def call(self, service: str, method: str, input: Any, *, timeout: float | None = None,
                   on_progress: Callable[[Any], None] | None = None, meta: dict[str, str] | None = None) -> Any:
        """Calls a unary method; raises RpcError. Cancelling the awaiting task cancels the call."""
        call = self._begin(service, method, input, timeout, on_progress, meta)
        try:
            kind, value = await self._next(call)
            return value
        except asyncio.CancelledError:
            self._cancel(call)
            raise
        finally:
            self._settle(call)

    async def stream(self, service: str, method: str, input: Any, *, timeout: float | None = None,
                     meta: dict[str, str] | None = None) -> AsyncIterator[Any]:
        """Calls a streaming method and yields its chunks; leaving the loop early cancels the call."""
        call = self._begin(service, method, input, timeout, None, meta)
        try:
            while True:
                kind, value = await self._next(call)
                if kind == "end":
                    return
                yield value
        except (asyncio.CancelledError, GeneratorExit):
            self._cancel(call)
            raise
        finally:
            if not call.settled:
                self._cancel(call)
            self._settle(call)

    async def _next(self, call: _Call) -> tuple[str, Any]:
        left = (call.deadline - _now_ms()) / 1000
        try:
            kind, value = await asyncio.wait_for(call.events.get(), max(0.0, left))
        except asyncio.TimeoutError:
            call.settled = True
            raise RpcError("RPC_DEADLINE_EXCEEDED", f"{call.service}.{call.spec.name}: deadline exceeded") from None
        if kind == "error":
            raise value
        return kind, value

    def _settle(self, call: _Call) -> None:
        call.settled = True
        self._calls.pop(call.call_id, None)

    def _cancel(self, call: _Call) -> None:
        assert self.mlm is not None
        if call.settled:
            return
        call.settled = True
        left = call.deadline - _now_ms()
        if left <= 0:
            return  # an expired call needs no cancel
        if call.worker is not None:
            frames = envelope.encode({"kind": "cancel"})
            self.mlm.mailbox_send(call.worker, "cancel", frames, tracker=call.call_id, timeout=max(1000, left))
            return
        if "withdraw" in self.mlm.features:
            self.mlm.confirm(call.call_id, 305)
        frames = envelope.encode({"kind": "cancel", "deadline": call.deadline})
        self.mlm.stream_send(f"{call.service}/{call.call_id}", frames)

    def _on_message(self, msg: Message) -> None:
        call = self._calls.get(msg.s("tracker"))
        if call is None or call.settled:
            return  # settled calls ignore late or duplicate replies (requeued calls are at-least-once)
        if msg.id == proto.CONFIRM:
            code = msg.n("code")
            if code >= 300:
                name = _CONFIRM_CODES.get(code, "RPC_UNAVAILABLE")
                self._push(call, "error", RpcError(name, f"{call.service}.{call.spec.name}: broker CONFIRM {code} {msg.s('reason')}"))
            return
        if msg.id != proto.MAILBOX_DELIVER:
            return
        try:
            env = envelope.decode(msg.content)
            self._reply(call, env)
        except RpcError as error:
            self._push(call, "error", error)

    def _reply(self, call: _Call, env: envelope.Envelope) -> None:
        contract = self.contracts[call.service]
        label = f"{call.service}.{call.spec.name}"
        kind = env.kind
        if kind == "ack":
            call.worker = env.header["worker"]
        elif kind == "progress":
            if call.on_progress is not None and call.spec.progress is not None:
                call.on_progress(env.payload)
        elif kind == "chunk" and call.spec.kind == "stream":
            seq = env.header["seq"]
            if seq > call.received:
                raise RpcError("RPC_BAD_ENVELOPE", f"{label}: chunk {seq} after {call.received} chunks")
            if seq == call.received:
                issues = contract.validate(call.spec.chunk or {}, env.payload)
                if issues:
                    raise RpcError("RPC_VALIDATION", f"{label}: invalid chunk at {issues[0].path}: {issues[0].message}")
                call.received += 1
                call.events.put_nowait(("chunk", env.payload))
        elif kind == "end" and call.spec.kind == "stream":
            if env.header["count"] != call.received:
                raise RpcError("RPC_BAD_ENVELOPE", f"{label}: end says {env.header['count']} chunks, got {call.received}")
            self._push(call, "end", None)
        elif kind == "result" and call.spec.kind == "unary":
            issues = contract.validate(call.spec.output or {}, env.payload)
            if issues:
                raise RpcError("RPC_VALIDATION", f"{label}: invalid output at {issues[0].path}: {issues[0].message}")
            self._push(call, "result", env.payload)
        elif kind == "error":
            p = env.payload
            if not isinstance(p, dict) or not isinstance(p.get("code"), str):
                raise RpcError("RPC_BAD_ENVELOPE", f"{label}: malformed error reply")
            self._push(call, "error", RpcError(p["code"], str(p.get("message", "")), p.get("details")))
        else:
            raise RpcError("RPC_BAD_ENVELOPE", f"{label}: unexpected {kind} reply")

    def _push(self, call: _Call, kind: str, value: Any) -> None:
        call.events.put_nowait((kind, value))

    async def close(self) -> None:
        for call in list(self._calls.values()):
            self._push(call, "error", RpcError("RPC_UNAVAILABLE", "the client closed"))
        if self.mlm is not None:
            await self.mlm.close()


async def connect(endpoint: str, *contract_json_schemas: JSON, default_timeout: float = 30.0,
                  binary_threshold: float = 65536, send_hwm: int = 1000) -> RpcClient:
    """Connects a caller for the given contract exports.

    Example::

        client = await connect("tcp://127.0.0.1:9999", json.load(open("qwen3vl.schema.json")))
    """
    client = RpcClient([Contract(doc) for doc in contract_json_schemas], default_timeout, binary_threshold, send_hwm)
    await client._start(endpoint)
    return client
