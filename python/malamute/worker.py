"""RPC worker: ``serve(endpoint, contract_json_schema, handlers, concurrency=...)`` (docs/rpc-wire.md 4, 6)."""
from __future__ import annotations

import asyncio
import inspect
import re
import secrets
import threading
import time
from typing import Any, AsyncIterator, Callable, Iterator, Mapping

from . import envelope, proto
from .errors import RpcError
from .mlm import NO_MAILBOX_CONFIRMS, MlmClient
from .proto import Message
from .schema import Contract, JSON, MethodSpec

REPLY_GRACE_MS = 5000
ACK_AFTER = 0.01
DIRECT_CANCEL_MEMORY_MS = 60_000
CANCEL_MEMORY = 10_000

Handler = Callable[[Any, "CallContext"], Any]


def now_ms() -> int:
    return int(time.time() * 1000)


class CallContext:
    """What a handler gets besides its input.

    ``cancelled`` is a ``threading.Event`` set on cancel or deadline (poll it in sync handlers;
    async handlers are cancelled with ``asyncio.CancelledError`` as well). ``progress(value)``
    sends a progress value (validated against the method's progress schema); it is thread-safe.

    Example::

        def infer(input, ctx):
            for step in range(10):
                if ctx.cancelled.is_set():
                    return None  # the caller already got RPC_CANCELLED
                ctx.progress({"done": step, "total": 10})
            return {"text": "..."}
    """

    def __init__(self, worker: "Worker", call: "_Call") -> None:
        self._worker = worker
        self._call = call
        self.cancelled = threading.Event()
        self.method = call.spec.name
        self.call_id = call.call_id
        self.caller = call.caller
        self.deadline_ms = call.deadline
        self.meta: Mapping[str, str] = call.meta

    def progress(self, value: Any) -> None:
        loop = self._worker.loop
        if threading.get_ident() == self._worker.thread:
            self._worker.progress(self._call, value)
        else:
            loop.call_soon_threadsafe(self._worker.progress, self._call, value)

    @property
    def remaining(self) -> float:
        """Seconds left until the deadline."""
        return max(0.0, (self.deadline_ms - now_ms()) / 1000)


class _Call:
    def __init__(self, caller: str, call_id: str, spec: MethodSpec, deadline: int, meta: Mapping[str, str]) -> None:
        self.caller = caller
        self.call_id = call_id
        self.spec = spec
        self.deadline = deadline
        self.meta = meta
        self.task: asyncio.Task[None] | None = None
        self.ctx: CallContext | None = None
        self.final = False
        self.acked = False
        self.cancel_code: str | None = None
        self.deliveries = 1


class Worker:
    """A running worker; ``await worker.close()`` to stop (unconfirmed calls go back to the queue).

    Example::

        worker = await serve("tcp://127.0.0.1:9999", schema, {"infer": infer}, concurrency=2)
        await worker.wait_closed()
    """

    def __init__(self, contract: Contract, handlers: Mapping[str, Handler], concurrency: int,
                 binary_threshold: float, max_payload: int) -> None:
        missing = set(contract.methods) - set(handlers)
        if missing:
            raise ValueError(f"no handler for {', '.join(sorted(missing))}")
        self.contract = contract
        self.handlers = dict(handlers)
        self.concurrency = max(1, concurrency)
        self.binary_threshold = binary_threshold
        self.max_payload = max_payload
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        self.address = f"rpc-worker-{contract.service}-{secrets.token_hex(4)}"
        self.calls: MlmClient | None = None
        self.control: MlmClient | None = None
        self.running: dict[tuple[str, str], _Call] = {}
        self.early: dict[tuple[str, str], tuple[int, str]] = {}
        self.slots = asyncio.Semaphore(self.concurrency)
        self.closed = asyncio.Event()
        self._closing = False
        self.stats = {"calls": 0, "cancels": 0, "errors": 0, "cancels_forgotten": 0}

    async def start(self, endpoint: str) -> None:
        self.control = await MlmClient.connect(endpoint, self.address, on_message=self._on_control,
                                               hello_flags=NO_MAILBOX_CONFIRMS)
        service = re.escape(self.contract.service)
        await self.control.stream_read(self.contract.cancel_stream, f"^{service}/")
        self.calls = await MlmClient.connect(endpoint, "", on_message=self._on_call)
        self.calls.on_reopen = self._regrant
        self.calls.credit(self.concurrency)
        await self.calls.service_offer(self.contract.service, ".*")

    def _regrant(self) -> None:
        # The broker forgot our credit with the session; calls still running give theirs back later.
        assert self.calls is not None
        self.calls.credit(self.concurrency - len(self.running))

    # ---- calls -------------------------------------------------------------------------

    def _on_call(self, msg: Message) -> None:
        if msg.id != proto.SERVICE_DELIVER or self._closing:
            return  # broker CONFIRMs for our tracked replies; when closing, the broker requeues
        caller, call_id, method = msg.s("sender"), msg.s("tracker"), msg.s("subject")
        self.stats["calls"] += 1
        try:
            env = envelope.decode(msg.content)
            if env.kind != "call":
                raise RpcError("RPC_BAD_ENVELOPE", f"expected a call, got {env.kind}")
        except RpcError as error:
            return self._reject(caller, call_id, now_ms() + 1000, error)
        now = now_ms()
        deadline = now + env.header["timeout"]
        if env.header["deadline"] >= now:
            deadline = min(deadline, env.header["deadline"])
        spec = self.contract.methods.get(method)
        label = f"{self.contract.service}.{method}"
        if spec is None:
            return self._reject(caller, call_id, deadline, RpcError("RPC_UNKNOWN_METHOD", f"{label}: no such method"))
        if deadline <= now:
            return self._reject(caller, call_id, deadline, RpcError("RPC_DEADLINE_EXCEEDED", f"{label}: deadline exceeded"))
        early = self.early.pop((caller, call_id), None)
        if early is not None:
            return self._reject(caller, call_id, deadline, _cancel_error(label, early[1]))
        if env.payload_bytes > self.max_payload:
            size = env.payload_bytes
            return self._reject(caller, call_id, deadline, RpcError(
                "RPC_PAYLOAD_TOO_LARGE", f"{label}: input of {size} bytes is over {self.max_payload}",
                {"size": size, "limit": self.max_payload}))
        issues = self.contract.validate(spec.input, env.payload)
        if issues:
            return self._reject(caller, call_id, deadline, _invalid(label, "input", issues))
        running = self.running.get((caller, call_id))
        if running is not None:
            # Delivered again (our session was lost and the broker requeued it, or the caller
            # re-sent it): the run in progress answers; this delivery is confirmed with it.
            running.deliveries += 1
            return
        call = _Call(caller, call_id, spec, deadline, env.header.get("meta") or {})
        self.running[(caller, call_id)] = call
        call.task = asyncio.create_task(self._run(call, env.payload))

    async def _run(self, call: _Call, payload: Any) -> None:
        label = f"{self.contract.service}.{call.spec.name}"
        ack = self.loop.call_later(ACK_AFTER, self._ack, call)
        expiry = self.loop.call_later(max(0, call.deadline - now_ms()) / 1000, self._abort, call, "RPC_DEADLINE_EXCEEDED")
        try:
            async with self.slots:  # holds calls beyond the concurrency on a broker without credit
                ctx = call.ctx = CallContext(self, call)
                if call.cancel_code is not None:
                    return
                handler = self.handlers[call.spec.name]
                if call.spec.kind == "stream":
                    count = 0
                    async for chunk in _iterate(handler, payload, ctx):
                        if call.final:
                            return
                        issues = self.contract.validate(call.spec.chunk or {}, chunk)
                        if issues:
                            raise _invalid(label, "chunk", issues)
                        self._reply(call, {"kind": "chunk", "seq": count}, chunk)
                        count += 1
                    self._finish(call, {"kind": "end", "count": count})
                else:
                    output = await _invoke(handler, payload, ctx)
                    if call.final:
                        return
                    issues = self.contract.validate(call.spec.output or {}, output)
                    if issues:
                        raise _invalid(label, "output", issues)
                    self._finish(call, {"kind": "result"}, output)
        except asyncio.CancelledError:
            pass
        except RpcError as error:
            self._fail(call, error)
        except Exception as error:  # the handler failed without choosing a code
            self._fail(call, RpcError("RPC_INTERNAL", f"{label}: {error}"))
        finally:
            ack.cancel()
            expiry.cancel()
            if self._closing:
                return  # unconfirmed: the broker gives the call to another worker
            if not call.final:  # cancelled or expired: _abort sent the error
                self._fail(call, _cancel_error(label, call.cancel_code or "RPC_CANCELLED"))
            self.running.pop((call.caller, call.call_id), None)
            assert self.calls is not None
            for _ in range(call.deliveries):
                self.calls.confirm(call.call_id, 200)
                if "credit" in self.calls.features:
                    self.calls.credit(1)

    def _abort(self, call: _Call, code: str) -> None:
        if call.final or call.cancel_code is not None:
            return
        call.cancel_code = code
        self._fail(call, _cancel_error(f"{self.contract.service}.{call.spec.name}", code))
        if call.ctx is not None:
            call.ctx.cancelled.set()
        if call.task is not None and _cancellable(self.handlers[call.spec.name]):
            call.task.cancel()

    def _ack(self, call: _Call) -> None:
        if not call.final:
            call.acked = True
            self._reply(call, {"kind": "ack", "worker": self.address})

    def progress(self, call: _Call, value: Any) -> None:
        if call.final:
            return
        if call.spec.progress is None:
            return  # the contract has no progress for this method: the caller could not read it
        issues = self.contract.validate(call.spec.progress, value)
        if issues:
            self._fail(call, _invalid(f"{self.contract.service}.{call.spec.name}", "progress", issues))
            call.cancel_code = "RPC_VALIDATION"
            if call.ctx is not None:
                call.ctx.cancelled.set()
            if call.task is not None and _cancellable(self.handlers[call.spec.name]):
                call.task.cancel()
            return
        self._reply(call, {"kind": "progress"}, value)

    def _reply(self, call: _Call, header: dict[str, Any], payload: Any = None) -> None:
        self._send(call.caller, call.call_id, call.deadline, header, payload)

    def _send(self, caller: str, call_id: str, deadline: int, header: dict[str, Any], payload: Any = None) -> None:
        assert self.calls is not None
        frames = envelope.encode(header, payload, threshold=self.binary_threshold)
        if header["kind"] in ("result", "chunk") and envelope.payload_size(header, frames) > self.max_payload:
            size = envelope.payload_size(header, frames)
            frames = envelope.encode({"kind": "error"}, _error_payload(RpcError(
                "RPC_PAYLOAD_TOO_LARGE", f"output of {size} bytes is over {self.max_payload}",
                {"size": size, "limit": self.max_payload})))
            header = {"kind": "error"}
        timeout = max(0, deadline - now_ms()) + REPLY_GRACE_MS
        self.calls.mailbox_send(caller, header["kind"], frames, tracker=call_id, timeout=timeout)

    def _finish(self, call: _Call, header: dict[str, Any], payload: Any = None) -> None:
        if not call.final:
            call.final = True
            self._reply(call, header, payload)

    def _fail(self, call: _Call, error: RpcError) -> None:
        self.stats["errors"] += 1
        self._finish(call, {"kind": "error"}, _error_payload(error))

    def _reject(self, caller: str, call_id: str, deadline: int, error: RpcError) -> None:
        assert self.calls is not None
        self.stats["errors"] += 1
        self._send(caller, call_id, deadline, {"kind": "error"}, _error_payload(error))
        self.calls.confirm(call_id, 200)
        if "credit" in self.calls.features:
            self.calls.credit(1)

    # ---- cancels -----------------------------------------------------------------------

    def _on_control(self, msg: Message) -> None:
        if msg.id == proto.MAILBOX_DELIVER:
            caller, call_id = msg.s("sender"), msg.s("tracker")
        elif msg.id == proto.STREAM_DELIVER:
            caller = msg.s("sender")
            call_id = msg.s("subject").partition("/")[2]
        else:
            return
        try:
            env = envelope.decode(msg.content)
        except RpcError:
            return
        if env.kind != "cancel":
            return
        self.stats["cancels"] += 1
        code = env.header.get("code") or "RPC_CANCELLED"
        call = self.running.get((caller, call_id))
        if call is not None:
            self._abort(call, code)
            return
        until = env.header.get("deadline") or now_ms() + DIRECT_CANCEL_MEMORY_MS
        if until > now_ms():
            self._remember(caller, call_id, until, code)

    def _remember(self, caller: str, call_id: str, until: int, code: str) -> None:
        now = now_ms()
        if len(self.early) >= CANCEL_MEMORY:
            for key in [k for k, (t, _) in self.early.items() if t <= now]:
                del self.early[key]
            while len(self.early) >= CANCEL_MEMORY:  # full of live entries: forget the oldest
                del self.early[next(iter(self.early))]
                self.stats["cancels_forgotten"] += 1
        self.early[(caller, call_id)] = (until, code)

    async def close(self) -> None:
        """Stops taking calls and closes both connections; running calls are cancelled, unconfirmed."""
        self._closing = True
        for call in list(self.running.values()):
            if call.task is not None:
                call.task.cancel()
            if call.ctx is not None:
                call.ctx.cancelled.set()
        for client in (self.calls, self.control):
            if client is not None:
                await client.close()
        self.closed.set()

    async def wait_closed(self) -> None:
        await self.closed.wait()


def _cancellable(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler)


async def _invoke(handler: Handler, payload: Any, ctx: CallContext) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(payload, ctx)
    result = await asyncio.get_running_loop().run_in_executor(None, handler, payload, ctx)
    return await result if inspect.isawaitable(result) else result


async def _iterate(handler: Handler, payload: Any, ctx: CallContext) -> AsyncIterator[Any]:
    if inspect.isasyncgenfunction(handler):
        async for item in handler(payload, ctx):
            yield item
        return
    loop = asyncio.get_running_loop()
    items: Iterator[Any] = await loop.run_in_executor(None, lambda: iter(handler(payload, ctx)))
    done = object()
    while not ctx.cancelled.is_set():
        item = await loop.run_in_executor(None, next, items, done)
        if item is done:
            return
        yield item


def _error_payload(error: RpcError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        out["details"] = error.details
    return out


def _cancel_error(label: str, code: str) -> RpcError:
    if code == "RPC_DEADLINE_EXCEEDED":
        return RpcError(code, f"{label}: deadline exceeded")
    return RpcError(code, f"{label} was cancelled")


def _invalid(label: str, role: str, issues: list[Any]) -> RpcError:
    first = issues[0]
    return RpcError("RPC_VALIDATION", f"{label}: invalid {role} at {first.path}: {first.message}",
                    {"role": role, "issues": [{"path": i.path, "message": i.message} for i in issues]})


async def serve(endpoint: str, contract_json_schema: JSON, handlers: Mapping[str, Handler], *,
                concurrency: int = 1, binary_threshold: float = 65536, max_payload: int = 64 * 1024 * 1024) -> Worker:
    """Serves a contract (its ``contractJsonSchema()`` export) with ``handlers`` by method name.

    A handler is ``async def`` (returns the output; cancelled as an asyncio task), a plain
    function (run in a thread; poll ``ctx.cancelled``), or for streaming methods an async or
    plain generator of chunks. Raise ``RpcError(code, message)`` for a chosen error code.

    Example::

        async def infer(input, ctx):
            ctx.progress({"tokens": 1})
            return {"text": input["prompt"], "tokens": 1}

        worker = await serve("tcp://127.0.0.1:9999", schema, {"infer": infer, "tokens": tokens}, concurrency=2)
    """
    worker = Worker(Contract(contract_json_schema), handlers, concurrency, binary_threshold, max_payload)
    try:
        await worker.start(endpoint)
    except BaseException:
        await worker.close()
        raise
    return worker
