"""Python worker for tests/python/interop.test.ts: serves the test qwen3vl contract.

Usage: py_worker.py ENDPOINT SCHEMA_JSON TAG [MAX_PAYLOAD]. Prints "ready" once serving, and one line per
event the test waits for ("started <prompt>", "cancelled <prompt>").
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import malamute  # noqa: E402


def say(line: str) -> None:
    print(line, flush=True)


async def main() -> None:
    endpoint, schema_path, tag = sys.argv[1:4]
    with open(schema_path) as f:
        schema = json.load(f)

    async def infer(input, ctx):
        prompt = input["prompt"]
        say(f"ran {prompt}")
        if prompt == "hang" or (prompt == "hold" and tag.startswith("hold")):
            say(f"started {prompt}")
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                say(f"cancelled {prompt}")
                raise
        if prompt == "fail":
            raise malamute.RpcError("MODEL_BUSY", "busy", {"retry": 1})
        if prompt == "bad-output":
            return {"text": 1, "tokens": 0}
        if prompt == "progress":
            for i in range(3):
                ctx.progress({"tokens": i})
        image = input.get("image")
        size = len(image) if image is not None else 0
        checksum = sum(bytes(image)) % 65536 if image is not None else 0
        return {"text": f"{tag}:{prompt}:{checksum}", "tokens": size}

    def tokens(input, ctx):  # a sync generator: runs in a thread
        if input["prompt"] == "endless":
            say("started endless")
            i = 0
            while not ctx.cancelled.is_set():
                yield str(i)
                i += 1
                ctx.cancelled.wait(0.005)
            say("cancelled endless")
            return
        if input["prompt"].startswith("many "):
            yield from (str(i) for i in range(int(input["prompt"][5:])))
            return
        for word in input["prompt"].split():
            yield word

    limit = {"max_payload": int(sys.argv[4])} if len(sys.argv) > 4 else {}
    await malamute.serve(endpoint, schema, {"infer": infer, "tokens": tokens}, concurrency=2, **limit)
    say("ready")
    await asyncio.Event().wait()


asyncio.run(main())
