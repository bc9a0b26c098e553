"""Errors with a stable ``code``, as the TypeScript side has them (docs/rpc-wire.md 4.4)."""
from __future__ import annotations

from typing import Any


class RpcError(Exception):
    """An RPC failure: ``code`` is stable (``RPC_CANCELLED``, ``MODEL_BUSY``...), ``details`` optional.

    Example::

        raise RpcError("MODEL_BUSY", "the GPU is taken")
    """

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"RpcError({self.code!r}, {self.message!r})"


class MlmError(Exception):
    """A broker answered a command with ERROR, or the connection could not be opened."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"MLM error {code}: {reason}")
        self.code = code
        self.reason = reason
