import { dataUrl } from "../../bytes.ts";
import { resolveQwen3VlInput, type Qwen3VlInput, type Qwen3VlOutput } from "../../contracts/qwen3vl.ts";
import type { BackendContext, Qwen3VlBackend } from "../types.ts";
import { badShape, joinUrl, parseJson, postJson, type HttpBackendOptions } from "./request.ts";

/**
 * Options of {@link openAiChatQwen3Vl}.
 *
 * @example
 * ```ts
 * const options: OpenAiChatOptions = { baseUrl: "http://127.0.0.1:11434/v1", model: "qwen3-vl", extraBody: { top_p: 0.8 } };
 * ```
 */
export interface OpenAiChatOptions extends HttpBackendOptions {
  /** Fields merged into every request body (e.g. `{ top_p: 0.8, top_k: 20 }`). */
  extraBody?: Record<string, unknown>;
  /** Remove `<think>…</think>` blocks that Qwen3 "Thinking" models put before the answer. Default true. */
  stripThinking?: boolean;
}

interface ChatResponse {
  model?: string;
  choices?: Array<{ message?: { content?: string | Array<{ type?: string; text?: string }> | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

/**
 * `qwen3vl.infer` through an OpenAI-compatible `/chat/completions` endpoint, the way vLLM,
 * llama.cpp's server and Ollama serve Qwen3-VL: one user message whose content lists each
 * image as an `image_url` part holding a base64 `data:` URL, then the prompt as a `text` part.
 * Token usage is the server's own count (zeros when it reports none).
 *
 * @example
 * ```ts
 * import { openAiChatQwen3Vl } from "malamute/forge";
 * const backend = openAiChatQwen3Vl({ baseUrl: "http://127.0.0.1:8000/v1", model: "Qwen/Qwen3-VL-8B-Instruct" });
 * const { text } = await backend.infer({ images: [{ data: png, mimeType: "image/png" }], prompt: "What is shown?" }, { signal });
 * ```
 */
export function openAiChatQwen3Vl(options: OpenAiChatOptions): Qwen3VlBackend {
  const url = joinUrl(options.baseUrl, "/chat/completions");
  return {
    name: `openai-chat:${options.model}`,
    async infer(input: Qwen3VlInput, ctx: BackendContext): Promise<Qwen3VlOutput> {
      const req = resolveQwen3VlInput(input);
      const messages: unknown[] = [];
      if (req.system !== undefined) messages.push({ role: "system", content: req.system });
      messages.push({
        role: "user",
        content: [
          ...req.images.map((img) => ({ type: "image_url", image_url: { url: dataUrl(img.mimeType, img.data) } })),
          { type: "text", text: req.prompt },
        ],
      });
      const body = {
        ...options.extraBody,
        model: options.model,
        messages,
        max_tokens: req.maxTokens,
        temperature: req.temperature,
        stream: false,
      };
      const json = parseJson(await postJson(options, "/chat/completions", body, ctx), url) as ChatResponse;
      const choice = json.choices?.[0];
      const content = choice?.message?.content;
      let text = typeof content === "string"
        ? content
        : Array.isArray(content) ? content.filter((p) => p.type === "text" || p.text !== undefined).map((p) => p.text ?? "").join("") : undefined;
      if (text === undefined) throw badShape(url, "choices[0].message.content");
      if (options.stripThinking !== false) text = text.replace(/<think>[\s\S]*?<\/think>\s*/g, "");
      const promptTokens = nonNegative(json.usage?.prompt_tokens);
      const completionTokens = nonNegative(json.usage?.completion_tokens);
      return {
        text,
        finishReason: choice?.finish_reason === "length" ? "length" : "stop",
        usage: { promptTokens, completionTokens, totalTokens: nonNegative(json.usage?.total_tokens) || promptTokens + completionTokens },
        model: `openai-chat:${json.model ?? options.model}`,
      };
    },
  };
}

function nonNegative(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.round(v) : 0;
}
