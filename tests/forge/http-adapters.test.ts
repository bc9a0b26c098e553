import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  encodePng, encodeWav, ForgeError, openAiChatQwen3Vl, openAiImagesZImage, openAiSpeechKokoro,
} from "../../src/forge/mod.ts";
import { never, pattern } from "./helpers.ts";

/** What the fake server saw. */
interface Seen { method: string; url: string; headers: IncomingMessage["headers"]; body: unknown }

type Reply = (res: ServerResponse, seen: Seen) => void;

let server: Server;
let base = "";
let reply: Reply = () => {};
let seen: Seen[] = [];
const hanging = new Set<ServerResponse>();

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => (res) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const hang: Reply = (res) => {
  hanging.add(res);
  res.writeHead(200, { "content-type": "application/json" });
  res.write("{"); // headers and a first byte, then nothing: the body never completes
};
const code = (c: string) => (e: unknown) => e instanceof ForgeError && e.code === c;

before(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const text = Buffer.concat(parts).toString("utf8");
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* keep text */ }
      const s: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(s);
      reply(res, s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  for (const res of hanging) res.destroy();
  hanging.clear();
});

const image = encodePng(pattern(8, 8, (x, y) => [x * 30, y * 30, 100]));
const chatOk = json(200, {
  model: "Qwen/Qwen3-VL-8B-Instruct",
  choices: [{ index: 0, message: { role: "assistant", content: "<think>hmm</think>A small gradient." }, finish_reason: "stop" }],
  usage: { prompt_tokens: 91, completion_tokens: 5, total_tokens: 96 },
});

describe("OpenAI-compatible chat adapter (qwen3vl)", () => {
  const backend = () => openAiChatQwen3Vl({ baseUrl: base, model: "Qwen/Qwen3-VL-8B-Instruct", apiKey: "sk-test" });

  it("POSTs /chat/completions with image parts as base64 data: URLs, then the text", async () => {
    reply = chatOk;
    const second = encodePng(pattern(4, 4, () => [1, 2, 3]));
    await backend().infer({
      images: [{ data: image, mimeType: "image/png" }, { data: second, mimeType: "image/png" }],
      prompt: "What is this?", system: "Be brief.", maxTokens: 64, temperature: 0.2,
    }, { signal: never() });
    assert.equal(seen.length, 1);
    const s = seen[0]!;
    assert.equal(s.method, "POST");
    assert.equal(s.url, "/v1/chat/completions");
    assert.equal(s.headers["authorization"], "Bearer sk-test");
    assert.match(String(s.headers["content-type"]), /application\/json/);
    assert.deepEqual(s.body, {
      model: "Qwen/Qwen3-VL-8B-Instruct",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: `data:image/png;base64,${Buffer.from(image).toString("base64")}` } },
            { type: "image_url", image_url: { url: `data:image/png;base64,${Buffer.from(second).toString("base64")}` } },
            { type: "text", text: "What is this?" },
          ],
        },
      ],
      max_tokens: 64,
      temperature: 0.2,
      stream: false,
    });
  });

  it("returns the answer without the thinking block, with the server's token usage", async () => {
    reply = chatOk;
    const out = await backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() });
    assert.deepEqual(out, {
      text: "A small gradient.",
      finishReason: "stop",
      usage: { promptTokens: 91, completionTokens: 5, totalTokens: 96 },
      model: "openai-chat:Qwen/Qwen3-VL-8B-Instruct",
    });
  });

  it("maps finish_reason 'length' and content given as parts", async () => {
    reply = json(200, { choices: [{ message: { content: [{ type: "text", text: "Cut" }, { type: "text", text: " off" }] }, finish_reason: "length" }] });
    const out = await backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() });
    assert.equal(out.text, "Cut off");
    assert.equal(out.finishReason, "length");
    assert.deepEqual(out.usage, { promptTokens: 0, completionTokens: 0, totalTokens: 0 });
  });

  it("sends no Authorization header without an API key", async () => {
    reply = chatOk;
    await openAiChatQwen3Vl({ baseUrl: base + "/", model: "m" }).infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() });
    assert.equal(seen[0]!.headers["authorization"], undefined);
    assert.equal(seen[0]!.url, "/v1/chat/completions");
  });

  it("maps HTTP errors to RPC codes, keeping the server's message and status", async () => {
    const cases: Array<[number, unknown, string]> = [
      [400, { error: { message: "image too large", type: "invalid_request_error" } }, "RPC_VALIDATION"],
      [401, { error: { message: "bad key" } }, "FORGE_UNAUTHENTICATED"],
      [404, { error: { message: "model not found" } }, "FORGE_NOT_FOUND"],
      [422, { detail: [{ msg: "field required" }] }, "RPC_VALIDATION"],
      [429, { error: { message: "slow down" } }, "RPC_RESOURCE_EXHAUSTED"],
      [500, { error: "boom" }, "RPC_UNAVAILABLE"],
      [503, "overloaded", "RPC_UNAVAILABLE"],
      [504, {}, "RPC_DEADLINE_EXCEEDED"],
    ];
    for (const [status, body, expected] of cases) {
      reply = json(status, body, status === 429 ? { "retry-after": "2" } : {});
      const err = await backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() }).then(
        () => assert.fail(`HTTP ${status} must fail`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ForgeError, `HTTP ${status}`);
      assert.equal(err.code, expected, `HTTP ${status}`);
      const details = err.details as { status: number; upstream: string; retryAfterMs?: number };
      assert.equal(details.status, status);
      if (status === 400) assert.equal(details.upstream, "image too large");
      if (status === 422) assert.equal(details.upstream, "field required");
      if (status === 429) {
        assert.equal(details.retryAfterMs, 2000);
        assert.equal(err.retryable, true);
      }
    }
  });

  it("fails with FORGE_BAD_RESPONSE on invalid JSON or a missing message", async () => {
    reply = (res) => { res.writeHead(200); res.end("not json"); };
    await assert.rejects(backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
    reply = json(200, { choices: [] });
    await assert.rejects(backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
  });

  it("times out with RPC_DEADLINE_EXCEEDED after timeoutMs", async () => {
    reply = hang;
    const slow = openAiChatQwen3Vl({ baseUrl: base, model: "m", timeoutMs: 150 });
    await assert.rejects(slow.infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() }), code("RPC_DEADLINE_EXCEEDED"));
  });

  it("honours the call's deadline when it is sooner than timeoutMs", async () => {
    reply = hang;
    const err = await backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never(), deadline: Date.now() + 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof ForgeError && err.code === "RPC_DEADLINE_EXCEEDED");
    assert.ok((err.details as { timeoutMs: number }).timeoutMs <= 150);
  });

  it("passes the caller's cancellation through to fetch (RPC_CANCELLED, connection closed)", async () => {
    reply = hang;
    const ac = new AbortController();
    const p = backend().infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: ac.signal });
    while (hanging.size === 0) await new Promise((r) => setTimeout(r, 5));
    const res = [...hanging][0]!;
    const closed = new Promise<void>((resolve) => res.on("close", () => resolve()));
    ac.abort();
    await assert.rejects(p, code("RPC_CANCELLED"));
    await closed; // the server sees the client go away
  });

  it("fails with RPC_UNAVAILABLE when nothing listens", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const dead = openAiChatQwen3Vl({ baseUrl: `http://127.0.0.1:${port}/v1`, model: "m" });
    await assert.rejects(dead.infer({ images: [{ data: image, mimeType: "image/png" }], prompt: "x" }, { signal: never() }), code("RPC_UNAVAILABLE"));
  });
});

describe("OpenAI-compatible speech adapter (kokoro)", () => {
  const wav = encodeWav(new Float32Array(12000), 24000);

  it("POSTs /audio/speech with model, input, voice, speed and response_format, and returns the bytes", async () => {
    reply = (res) => { res.writeHead(200, { "content-type": "audio/wav" }); res.end(wav); };
    const backend = openAiSpeechKokoro({ baseUrl: base, model: "kokoro" });
    const out = await backend.synthesize({ text: "Hello there", voice: "bf_emma", speed: 1.25, format: "wav" }, { signal: never() });
    assert.equal(seen[0]!.url, "/v1/audio/speech");
    assert.deepEqual(seen[0]!.body, { model: "kokoro", input: "Hello there", voice: "bf_emma", speed: 1.25, response_format: "wav" });
    assert.deepEqual(out.audio, wav);
    assert.equal(out.sampleRate, 24000);
    assert.equal(out.duration, 0.5);
    assert.equal(out.model, "openai-speech:kokoro");
  });

  it("computes pcm duration from the configured rate, and rejects a 'wav' that is not one", async () => {
    reply = (res) => { res.writeHead(200); res.end(new Uint8Array(48000)); };
    const out = await openAiSpeechKokoro({ baseUrl: base, model: "kokoro" }).synthesize({ text: "x", format: "pcm" }, { signal: never() });
    assert.equal(out.duration, 1);
    await assert.rejects(openAiSpeechKokoro({ baseUrl: base, model: "kokoro" }).synthesize({ text: "x", format: "wav" }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
  });

  it("maps a FastAPI validation error to RPC_VALIDATION", async () => {
    reply = json(422, { detail: [{ loc: ["body", "voice"], msg: "unknown voice zz_nobody" }] });
    const err = await openAiSpeechKokoro({ baseUrl: base, model: "kokoro" }).synthesize({ text: "x", voice: "zz_nobody" }, { signal: never() }).catch((e: unknown) => e);
    assert.ok(err instanceof ForgeError && err.code === "RPC_VALIDATION");
    assert.match(err.message, /unknown voice zz_nobody/);
  });
});

describe("OpenAI-compatible images adapter (zimage)", () => {
  const generated = encodePng(pattern(48, 32, (x) => [x * 5, 80, 160]));

  it("POSTs /images/generations with size, b64_json and the diffusion settings, and decodes the PNG", async () => {
    reply = json(200, { created: 1, data: [{ b64_json: Buffer.from(generated).toString("base64") }] });
    const backend = openAiImagesZImage({ baseUrl: base, model: "Tongyi-MAI/Z-Image-Turbo" });
    const out = await backend.generate({ prompt: "a fox", negativePrompt: "blurry", width: 48, height: 32, steps: 8, guidance: 1.5, seed: 77 }, { signal: never() });
    assert.deepEqual(seen[0]!.body, {
      model: "Tongyi-MAI/Z-Image-Turbo", prompt: "a fox", n: 1, size: "48x32", response_format: "b64_json",
      negative_prompt: "blurry", num_inference_steps: 8, guidance_scale: 1.5, seed: 77,
    });
    assert.deepEqual(out.png, generated);
    assert.deepEqual([out.seed, out.width, out.height], [77, 48, 32]);
  });

  it("sends a random seed when none is given and reports the server's seed when it names one", async () => {
    reply = json(200, { data: [{ b64_json: Buffer.from(generated).toString("base64") }] });
    const backend = openAiImagesZImage({ baseUrl: base, model: "m" });
    const out = await backend.generate({ prompt: "x", width: 48, height: 32 }, { signal: never() });
    assert.equal(out.seed, (seen[0]!.body as { seed: number }).seed);
    reply = json(200, { data: [{ b64_json: Buffer.from(generated).toString("base64"), seed: 1234 }] });
    assert.equal((await backend.generate({ prompt: "x", width: 48, height: 32, seed: 5 }, { signal: never() })).seed, 1234);
  });

  it("omits the extra fields when samplingFields is false", async () => {
    reply = json(200, { data: [{ b64_json: Buffer.from(generated).toString("base64") }] });
    await openAiImagesZImage({ baseUrl: base, model: "m", samplingFields: false }).generate({ prompt: "x", width: 64, height: 64 }, { signal: never() });
    assert.deepEqual(Object.keys(seen[0]!.body as object).sort(), ["model", "n", "prompt", "response_format", "size"]);
  });

  it("fails with FORGE_BAD_RESPONSE for a URL instead of b64_json, or bytes that are not PNG", async () => {
    const backend = openAiImagesZImage({ baseUrl: base, model: "m" });
    reply = json(200, { data: [{ url: "https://example.invalid/x.png" }] });
    await assert.rejects(backend.generate({ prompt: "x", width: 64, height: 64 }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
    reply = json(200, { data: [{ b64_json: Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString("base64") }] });
    await assert.rejects(backend.generate({ prompt: "x", width: 64, height: 64 }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
  });

  it("is cancelled while waiting, with RPC_CANCELLED", async () => {
    reply = hang;
    const ac = new AbortController();
    const p = openAiImagesZImage({ baseUrl: base, model: "m" }).generate({ prompt: "x", width: 64, height: 64 }, { signal: ac.signal });
    while (hanging.size === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await assert.rejects(p, code("RPC_CANCELLED"));
  });
});
