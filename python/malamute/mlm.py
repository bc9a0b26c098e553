"""An asyncio MLM client on a pyzmq DEALER: open/close, mailbox, stream, service, credit,
CONFIRM, HELLO feature discovery, heartbeats and re-open after a lost session.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable, Sequence

import zmq
import zmq.asyncio

from . import proto
from .errors import MlmError
from .proto import Message

Frame = bytes | bytearray | memoryview

NO_MAILBOX_CONFIRMS = 1
STORED_CONFIRMS = 2


class MlmClient:
    """One MLM session. Deliveries (MAILBOX/SERVICE/STREAM-DELIVER) and CONFIRMs go to ``on_message``.

    ``features`` is the set the broker listed in its HELLO answer; an empty set means a broker
    without extensions (C Malamute): then never send CONFIRM, and credit is not honoured.

    Example::

        client = await MlmClient.connect("tcp://127.0.0.1:9999", "me", on_message=print)
        await client.stream_write("weather")
        client.stream_send("temp.x", [b"21"])
        await client.close()
    """

    def __init__(self, endpoint: str, address: str, on_message: Callable[[Message], None],
                 hello_flags: int, heartbeat: float, liveness: float, send_hwm: int = 1000) -> None:
        self.endpoint = endpoint
        self.address = address
        self.features: set[str] = set()
        self.on_message = on_message
        self.on_reopen: Callable[[], None] | None = None
        self._hello_flags = hello_flags
        self._heartbeat = heartbeat
        self._liveness = liveness
        self._send_hwm = send_hwm
        self._ctx = zmq.asyncio.Context.instance()
        self._socket = self._new_socket()
        self._sync = zmq.Socket.shadow(self._socket.underlying)
        self._pending: deque[asyncio.Future[Message]] = deque()
        self._backlog: deque[list[Frame]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._writer: str | None = None
        self._reads: list[tuple[str, str]] = []
        self._offers: list[tuple[str, str]] = []
        self._last_rx = time.monotonic()
        self._last_reopen = 0.0
        self._reopening: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.reopens = 0

    @classmethod
    async def connect(cls, endpoint: str, address: str = "", *, on_message: Callable[[Message], None],
                      hello_flags: int = 0, heartbeat: float = 1.0, liveness: float = 5.0,
                      timeout: float = 10.0, send_hwm: int = 1000) -> "MlmClient":
        """Connects and opens the session; fails with MlmError if the broker does not answer in ``timeout``.

        ``send_hwm``: messages the socket queues before sends wait (in order, never dropped) in a
        backlog of this client; ``heartbeat``/``liveness`` in seconds.
        """
        client = cls(endpoint, address, on_message, hello_flags, heartbeat, liveness, send_hwm)
        client._tasks.append(asyncio.create_task(client._receive()))
        try:
            await asyncio.wait_for(client._open(), timeout)
        except BaseException:
            await client.close()
            raise
        client._tasks.append(asyncio.create_task(client._beat()))
        return client

    def _new_socket(self) -> zmq.asyncio.Socket:
        socket = self._ctx.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, self._send_hwm)
        socket.connect(self.endpoint)
        return socket

    def _send(self, header: bytes, content: Sequence[Frame] = ()) -> None:
        if self._closed:
            return
        frames: list[Frame] = [header, *content]
        if not self._backlog:
            try:
                # A plain socket on the same handle raises Again at once; the asyncio socket's send
                # would return a future that fails later, and the message would be lost.
                self._sync.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
                return
            except zmq.Again:
                pass
        # Over the socket's high-water mark: keep the order, and wait for room instead of dropping.
        self._backlog.append(frames)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._backlog and not self._closed:
            await self._socket.send_multipart(self._backlog[0], copy=False)
            self._backlog.popleft()

    async def _command(self, header: bytes) -> Message:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending.append(future)
        self._send(header)
        answer = await future
        if answer.id == proto.ERROR:
            raise MlmError(answer.n("code"), answer.s("reason"))
        return answer

    async def _open(self) -> None:
        hello: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending.append(hello)
        self._send(proto.encode(proto.CONFIRM, tracker="", code=self._hello_flags, reason=""))
        await self._command(proto.encode(proto.CONNECTION_OPEN, protocol="MALAMUTE", version=1, address=self.address))
        answer = hello.result()
        words = answer.s("reason").split() if answer.id == proto.OK else []
        self.features = set(words[1:]) if words[:1] == ["malamute-ext/1"] else set()
        if self._writer is not None:
            await self._command(proto.encode(proto.STREAM_WRITE, stream=self._writer))
        for stream, pattern in self._reads:
            await self._command(proto.encode(proto.STREAM_READ, stream=stream, pattern=pattern))
        for service, pattern in self._offers:
            await self._command(proto.encode(proto.SERVICE_OFFER, address=service, pattern=pattern))

    async def _receive(self) -> None:
        while not self._closed:
            try:
                frames = await self._socket.recv_multipart(copy=False)
            except (zmq.ZMQError, asyncio.CancelledError):
                if self._closed:
                    return
                await asyncio.sleep(0.05)
                continue
            self._last_rx = time.monotonic()
            msg = proto.decode(frames[0].buffer)
            if msg is None:
                continue
            msg.content = [f.buffer for f in frames[1:]]
            if msg.id in (proto.OK, proto.ERROR):
                if self._pending:
                    self._pending.popleft().set_result(msg)
                elif msg.id == proto.ERROR:
                    # An unsolicited ERROR means the broker forgot this session (restart, expiry).
                    self._schedule_reopen()
            elif msg.id != proto.CONNECTION_PONG:
                try:
                    self.on_message(msg)
                except Exception:  # a bad handler must not stop the session
                    pass

    async def _beat(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._heartbeat)
            self._send(proto.encode(proto.CONNECTION_PING))
            if time.monotonic() - self._last_rx > self._liveness:
                self._schedule_reopen()

    def _schedule_reopen(self) -> None:
        # One re-open at a time and at most one a second: answering every ERROR with a re-open
        # would make a storm of OPENs, each answered by more ERRORs.
        if self._closed or (self._reopening and not self._reopening.done()):
            return
        self._reopening = asyncio.create_task(self._reopen())

    async def _reopen(self) -> None:
        wait = max(0.0, self._last_reopen + 1.0 - time.monotonic())
        await asyncio.sleep(wait)
        self._last_reopen = time.monotonic()
        while self._pending:
            self._pending.popleft().set_exception(MlmError(0, "session lost"))
        old = self._socket
        self._socket = self._new_socket()
        self._sync = zmq.Socket.shadow(self._socket.underlying)
        self._backlog.clear()  # meant for the lost session; calls are re-sent by their owners
        old.close(linger=0)
        self._last_rx = time.monotonic()
        try:
            await asyncio.wait_for(self._open(), self._liveness)
        except (MlmError, asyncio.TimeoutError):
            return  # the heartbeat tries again
        self.reopens += 1
        if self.on_reopen is not None:
            self.on_reopen()

    async def stream_write(self, stream: str) -> None:
        """Sets the stream that ``stream_send`` publishes to (STREAM-WRITE, answered OK)."""
        self._writer = stream
        await self._command(proto.encode(proto.STREAM_WRITE, stream=stream))

    async def stream_read(self, stream: str, pattern: str) -> None:
        """Subscribes to the subjects of ``stream`` that match the zrex ``pattern``."""
        self._reads.append((stream, pattern))
        await self._command(proto.encode(proto.STREAM_READ, stream=stream, pattern=pattern))

    async def service_offer(self, service: str, pattern: str) -> None:
        """Offers to take the requests of ``service`` whose subject matches ``pattern``."""
        self._offers.append((service, pattern))
        await self._command(proto.encode(proto.SERVICE_OFFER, address=service, pattern=pattern))

    def stream_send(self, subject: str, content: Sequence[Frame]) -> None:
        """Publishes on the writer stream (STREAM-SEND has no answer)."""
        self._send(proto.encode(proto.STREAM_SEND, subject=subject), content)

    def mailbox_send(self, address: str, subject: str, content: Sequence[Frame], tracker: str = "",
                     timeout: int = 0) -> None:
        """Sends to a mailbox; ``timeout`` ms (0 = never expires)."""
        self._send(proto.encode(proto.MAILBOX_SEND, address=address, subject=subject, tracker=tracker,
                                timeout=_clamp32(timeout)), content)

    def service_send(self, service: str, subject: str, content: Sequence[Frame], tracker: str = "",
                     timeout: int = 0) -> None:
        """Sends a request to a service; ``timeout`` ms (0 = never expires)."""
        self._send(proto.encode(proto.SERVICE_SEND, address=service, subject=subject, tracker=tracker,
                                timeout=_clamp32(timeout)), content)

    def credit(self, amount: int) -> None:
        """Grants ``amount`` more deliveries (only meaningful when ``"credit" in features``)."""
        while amount > 0:
            step = min(amount, 0xFFFF)
            self._send(proto.encode(proto.CREDIT, amount=step))
            amount -= step

    def confirm(self, tracker: str, code: int, reason: str = "") -> None:
        """Sends a CONFIRM; silently skipped on a broker without ``confirm`` (it would drop us)."""
        if "confirm" in self.features:
            self._send(proto.encode(proto.CONFIRM, tracker=tracker, code=code, reason=reason))

    async def close(self) -> None:
        """Sends CONNECTION-CLOSE (best effort) and closes the socket."""
        if self._closed:
            return
        try:
            self._send(proto.encode(proto.CONNECTION_CLOSE))
            await asyncio.sleep(0.01)
        finally:
            self._closed = True
            for task in self._tasks + [t for t in (self._reopening, self._flusher) if t is not None]:
                task.cancel()
            for future in self._pending:
                if not future.done():
                    future.set_exception(MlmError(0, "closed"))
            self._socket.close(linger=0)


def _clamp32(value: int) -> int:
    return max(0, min(int(value), 0xFFFFFFFF))
