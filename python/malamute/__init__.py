"""Malamute (MLM over ZeroMQ) client and typed RPC for Python, interoperable with the TypeScript package.

Example::

    import asyncio, json, malamute

    async def main() -> None:
        schema = json.load(open("qwen3vl.schema.json"))
        client = await malamute.connect("tcp://127.0.0.1:9999", schema)
        print(await client.call("qwen3vl", "infer", {"prompt": "hi"}))
        await client.close()

    asyncio.run(main())
"""
from .client import RpcClient, connect
from .errors import MlmError, RpcError
from .mlm import NO_MAILBOX_CONFIRMS, STORED_CONFIRMS, MlmClient
from .schema import Contract, Issue
from .worker import CallContext, Worker, serve

__all__ = ["CallContext", "Contract", "Issue", "MlmClient", "MlmError", "NO_MAILBOX_CONFIRMS", "RpcClient",
           "RpcError", "STORED_CONFIRMS", "Worker", "connect", "serve"]
