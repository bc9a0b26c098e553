/**
 * Forge: four AI model jobs as typed malamute services — `qwen3vl.infer` (vision-language),
 * `zimage.generate` (text-to-image), `kokoro.synthesize` (text-to-speech) and `sam3.segment`
 * (video segmentation) — with pluggable backends: OpenAI-compatible HTTP servers, scripts in
 * any language over stdin/stdout, and CPU demo backends that stand in for the models.
 *
 * @example
 * ```ts
 * import { demoZImage } from "malamute/forge";
 * const { png, seed } = await demoZImage().generate({ prompt: "a lake at dusk", width: 256, height: 160 }, { signal: AbortSignal.timeout(5000) });
 * ```
 * @module
 */

// ---- contracts
export { ImageFile, MAX_IMAGE_BYTES, Progress } from "./contracts/common.ts";
export { QWEN3VL_MAX_IMAGES, Qwen3VlInput, Qwen3VlOutput, resolveQwen3VlInput, TokenUsage } from "./contracts/qwen3vl.ts";
export type { Qwen3VlRequest } from "./contracts/qwen3vl.ts";
export { resolveZImageInput, ZImageInput, ZImageOutput } from "./contracts/zimage.ts";
export type { ZImageRequest } from "./contracts/zimage.ts";
export { AudioFormat, KokoroInput, KokoroOutput, resolveKokoroInput } from "./contracts/kokoro.ts";
export type { KokoroRequest } from "./contracts/kokoro.ts";
export {
  Box, BoxPrompt, MAX_VIDEO_BYTES, ObjectMask, PointPrompt, resolveSam3Input, RleMask, SAM3_MAX_FRAMES, Sam3Chunk,
  Sam3FrameMasks, Sam3Input, Sam3Progress, Sam3Summary, SegmentPrompt, TextPrompt, VideoFile, VideoFrames, VideoInput,
} from "./contracts/sam3.ts";
export type { Sam3Request } from "./contracts/sam3.ts";
export { forgeContracts, kokoro, qwen3vl, sam3, zimage } from "./contracts/services.ts";

// ---- pipeline and events
export { Pipeline, pipeline, PipelineError } from "./pipeline.ts";
export type { PipelineResult, PipelineRunOptions, StepContext, StepTiming } from "./pipeline.ts";
export { FORGE_EVENTS_STREAM, ForgeEvents, watchForgeEvents } from "./events.ts";
export type { ForgeEvent, ForgeEventFeed, ForgeEventKind, ForgeEventsOptions, JobReporter } from "./events.ts";

// ---- workers and the Forge pipeline
export { demoBackends, serveForge, serveKokoro, serveQwen3Vl, serveSam3, serveZImage, toRpcError } from "./workers.ts";
export type { ForgeBackends, ForgeServeOptions, ForgeWorkers } from "./workers.ts";
export { DESCRIBE_PROMPT, forgePipeline } from "./forge-pipeline.ts";
export type { ForgePipelineClients, ForgePipelineOptions, ForgePipelineResults } from "./forge-pipeline.ts";

// ---- errors
export { abortError, ForgeCode, ForgeError, throwIfAborted } from "./errors.ts";
export type { ForgeCodeValue } from "./errors.ts";

// ---- backends
export type { BackendContext, KokoroBackend, Qwen3VlBackend, Sam3Backend, ZImageBackend } from "./backends/types.ts";
export { DEMO_QWEN3VL_NAME, demoQwen3Vl } from "./backends/demo/qwen3vl-image-stats.ts";
export type { DemoQwen3VlOptions } from "./backends/demo/qwen3vl-image-stats.ts";
export { DEMO_ZIMAGE_NAME, demoZImage } from "./backends/demo/zimage-procedural.ts";
export type { DemoZImageOptions } from "./backends/demo/zimage-procedural.ts";
export { DEMO_KOKORO_NAME, demoKokoro } from "./backends/demo/kokoro-formant.ts";
export { DEMO_SAM3_NAME, demoSam3 } from "./backends/demo/sam3-framediff.ts";
export type { DemoSam3Options } from "./backends/demo/sam3-framediff.ts";
export { httpStatusCode, postJson } from "./backends/http/request.ts";
export type { HttpBackendOptions, HttpResult } from "./backends/http/request.ts";
export { openAiChatQwen3Vl } from "./backends/http/openai-chat.ts";
export type { OpenAiChatOptions } from "./backends/http/openai-chat.ts";
export { openAiSpeechKokoro } from "./backends/http/openai-speech.ts";
export type { OpenAiSpeechOptions } from "./backends/http/openai-speech.ts";
export { openAiImagesZImage } from "./backends/http/openai-images.ts";
export type { OpenAiImagesOptions } from "./backends/http/openai-images.ts";
export { SCRIPT_PROTOCOL_VERSION, ScriptHost } from "./backends/script/host.ts";
export type { ScriptCallHandlers, ScriptHostEvents, ScriptHostOptions } from "./backends/script/host.ts";
export { encodeFrame, FrameDecoder } from "./backends/script/framing.ts";
export { scriptKokoro, scriptQwen3Vl, scriptSam3, scriptZImage } from "./backends/script/adapters.ts";
export { CommandTemplate } from "./backends/script/command-template.ts";
export type { CommandArg, FilledCommand } from "./backends/script/command-template.ts";
export { CommandRunner } from "./backends/script/command-runner.ts";
export type { CommandOptions, CommandResult, CommandStats } from "./backends/script/command-runner.ts";
export { commandKokoro, commandQwen3Vl, commandSam3, commandZImage } from "./backends/script/command-adapters.ts";
export type { CommandBackendOptions } from "./backends/script/command-adapters.ts";

// ---- media
export { concat, dataUrl, fromBase64, randomSeed, rng, toBase64 } from "./bytes.ts";
export { crc32 } from "./media/crc32.ts";
export { createImage } from "./media/image.ts";
export type { RgbaImage } from "./media/image.ts";
export { encodePng, PNG_SIGNATURE } from "./media/png-encode.ts";
export type { PngEncodeOptions } from "./media/png-encode.ts";
export { decodePng, isPng, readPngChunks } from "./media/png-decode.ts";
export type { DecodedPng, PngChunk, PngDecodeLimits, PngHeader } from "./media/png-decode.ts";
export { decodeApng, encodeApng } from "./media/apng.ts";
export type { AnimationLimits, DecodedAnimation } from "./media/apng.ts";
export { encodePcm16, encodeWav, parseWav } from "./media/wav.ts";
export type { WavInfo } from "./media/wav.ts";
export { probeAudio } from "./media/audio-probe.ts";
export type { AudioInfo } from "./media/audio-probe.ts";
export { analyzeImage, downsample } from "./media/analyze.ts";
export type { DominantColor, ImageStats } from "./media/analyze.ts";
export { findColors, nameColor } from "./media/colors.ts";
export type { NamedColor } from "./media/colors.ts";
export { parseScene, renderScene } from "./media/scene.ts";
export type { SceneLayer, SceneRender, SceneSpec } from "./media/scene.ts";
export { synthesizeSpeech, voiceParams } from "./media/speech.ts";
export type { SpeechOptions, VoiceParams } from "./media/speech.ts";
export { decodeRle, encodeRle } from "./media/rle.ts";
export type { Rle } from "./media/rle.ts";
