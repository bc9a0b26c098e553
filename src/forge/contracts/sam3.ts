import Type, { type TArray, type TBoolean, type TInteger, type TLiteral, type TNumber, type TObject, type TOptional, type TString, type TUnion } from "typebox";
import { Bytes, type TBytes } from "../../rpc/bytes.ts";
import { ImageFile } from "./common.ts";

/**
 * Largest accepted video file, in bytes (256 MiB).
 *
 * @example
 * ```ts
 * if (mp4.length > MAX_VIDEO_BYTES) throw new Error("video too large for sam3.segment");
 * ```
 */
export const MAX_VIDEO_BYTES = 256 * 1024 * 1024;

/**
 * Largest number of frames in one `sam3.segment` call.
 *
 * @example
 * ```ts
 * const frames = allFrames.slice(0, SAM3_MAX_FRAMES);
 * ```
 */
export const SAM3_MAX_FRAMES = 2_000;

/**
 * A whole video file, e.g. `video/mp4`, or `image/apng` for an animated PNG.
 *
 * @example
 * ```ts
 * const video = { kind: "file", data: apngBytes, mimeType: "image/apng" } as const;
 * ```
 */
export const VideoFile: TObject<{ kind: TLiteral<"file">; data: TBytes; mimeType: TString }> = Type.Object({
  kind: Type.Literal("file"),
  data: Bytes({ minBytes: 1, maxBytes: MAX_VIDEO_BYTES }),
  mimeType: Type.String({ pattern: "^(video|image)/[A-Za-z0-9.+-]+$", maxLength: 100 }),
}, { additionalProperties: false });

/**
 * A video given as its decoded frames, each an image file, in order.
 *
 * @example
 * ```ts
 * const video = { kind: "frames", frames: pngs.map((data) => ({ data, mimeType: "image/png" })), fps: 12 } as const;
 * ```
 */
export const VideoFrames: TObject<{ kind: TLiteral<"frames">; frames: TArray<typeof ImageFile>; fps: TOptional<TNumber> }> = Type.Object({
  kind: Type.Literal("frames"),
  frames: Type.Array(ImageFile, { minItems: 1, maxItems: SAM3_MAX_FRAMES }),
  /** Frames per second, used for timestamps. Default 25. */
  fps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000 })),
}, { additionalProperties: false });

/**
 * The video to segment.
 *
 * @example
 * ```ts
 * const video: VideoInput = { kind: "frames", frames, fps: 25 };
 * ```
 */
export const VideoInput: TUnion<[typeof VideoFile, typeof VideoFrames]> = Type.Union([VideoFile, VideoFrames]);

/**
 * The video to segment.
 *
 * @example
 * ```ts
 * const video: VideoInput = { kind: "frames", frames, fps: 25 };
 * ```
 */
export type VideoInput = Type.Static<typeof VideoInput>;

/**
 * A concept prompt: segment every instance of what the text names ("person", "red car").
 *
 * @example
 * ```ts
 * const prompt = { type: "text", text: "person on a bike" } as const;
 * ```
 */
export const TextPrompt: TObject<{ type: TLiteral<"text">; text: TString }> = Type.Object({
  type: Type.Literal("text"),
  text: Type.String({ minLength: 1, maxLength: 1_000 }),
}, { additionalProperties: false });

/**
 * A click on one object in one frame (pixels); `positive: false` marks background.
 *
 * @example
 * ```ts
 * const prompt = { type: "point", frame: 0, x: 120, y: 80 } as const; // positive: true by default
 * ```
 */
export const PointPrompt: TObject<{ type: TLiteral<"point">; frame: TOptional<TInteger>; x: TNumber; y: TNumber; positive: TOptional<TBoolean> }> = Type.Object({
  type: Type.Literal("point"),
  frame: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  x: Type.Number({ minimum: 0 }),
  y: Type.Number({ minimum: 0 }),
  positive: Type.Optional(Type.Boolean({ default: true })),
}, { additionalProperties: false });

/**
 * A box around one object in one frame (pixels).
 *
 * @example
 * ```ts
 * const prompt = { type: "box", frame: 0, x: 10, y: 20, width: 64, height: 48 } as const;
 * ```
 */
export const BoxPrompt: TObject<{ type: TLiteral<"box">; frame: TOptional<TInteger>; x: TNumber; y: TNumber; width: TNumber; height: TNumber }> = Type.Object({
  type: Type.Literal("box"),
  frame: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  x: Type.Number({ minimum: 0 }),
  y: Type.Number({ minimum: 0 }),
  width: Type.Number({ exclusiveMinimum: 0 }),
  height: Type.Number({ exclusiveMinimum: 0 }),
}, { additionalProperties: false });

/**
 * One prompt of `sam3.segment`.
 *
 * @example
 * ```ts
 * const prompts: SegmentPrompt[] = [{ type: "text", text: "ball" }, { type: "point", x: 5, y: 5, positive: false }];
 * ```
 */
export const SegmentPrompt: TUnion<[typeof TextPrompt, typeof PointPrompt, typeof BoxPrompt]> = Type.Union([TextPrompt, PointPrompt, BoxPrompt]);

/**
 * One prompt of `sam3.segment`.
 *
 * @example
 * ```ts
 * const prompts: SegmentPrompt[] = [{ type: "text", text: "ball" }, { type: "point", x: 5, y: 5, positive: false }];
 * ```
 */
export type SegmentPrompt = Type.Static<typeof SegmentPrompt>;

/**
 * Input of `sam3.segment`.
 *
 * @example
 * ```ts
 * const input: Sam3Input = { video: { kind: "frames", frames, fps: 8 }, prompts: [{ type: "text", text: "red kite" }] };
 * ```
 */
export const Sam3Input: TObject<{ video: typeof VideoInput; prompts: TArray<typeof SegmentPrompt>; threshold: TOptional<TNumber> }> = Type.Object({
  video: VideoInput,
  prompts: Type.Array(SegmentPrompt, { minItems: 1, maxItems: 64 }),
  /** Masks scoring below this are not reported. Default 0.5. */
  threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.5 })),
}, { additionalProperties: false });

/**
 * Input of `sam3.segment`.
 *
 * @example
 * ```ts
 * const input: Sam3Input = { video: { kind: "frames", frames, fps: 8 }, prompts: [{ type: "text", text: "red kite" }] };
 * ```
 */
export type Sam3Input = Type.Static<typeof Sam3Input>;

/**
 * A binary mask, run-length encoded in row-major order: `counts` alternates runs of 0 and 1,
 * starting with 0 (so a mask starting with a 1 begins with a count of 0). Runs sum to
 * `width * height`.
 *
 * @example
 * ```ts
 * const mask: RleMask = encodeRle(bits, width, height);
 * ```
 */
export const RleMask: TObject<{ width: TInteger; height: TInteger; counts: TArray<TInteger> }> = Type.Object({
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  counts: Type.Array(Type.Integer({ minimum: 0 })),
});

/**
 * A run-length encoded binary mask.
 *
 * @example
 * ```ts
 * const mask: RleMask = encodeRle(bits, width, height);
 * ```
 */
export type RleMask = Type.Static<typeof RleMask>;

/**
 * A rectangle in pixels.
 *
 * @example
 * ```ts
 * const box: Box = { x: 10, y: 20, width: 64, height: 48 };
 * ```
 */
export const Box: TObject<{ x: TNumber; y: TNumber; width: TNumber; height: TNumber }> = Type.Object({
  x: Type.Number(),
  y: Type.Number(),
  width: Type.Number({ minimum: 0 }),
  height: Type.Number({ minimum: 0 }),
});

/**
 * A rectangle in pixels.
 *
 * @example
 * ```ts
 * const box: Box = { x: 10, y: 20, width: 64, height: 48 };
 * ```
 */
export type Box = Type.Static<typeof Box>;

/**
 * One object's mask in one frame.
 *
 * @example
 * ```ts
 * for (const o of chunk.objects) console.log(o.objectId, o.label, o.score, decodeRle(o.mask));
 * ```
 */
export const ObjectMask: TObject<{ objectId: TInteger; label: TString; score: TNumber; box: typeof Box; area: TInteger; mask: typeof RleMask }> = Type.Object({
  /** Stable across frames: the same object keeps its id while it is tracked. */
  objectId: Type.Integer({ minimum: 1 }),
  /** The prompt that selected it, e.g. `text:person`, `point#0`. */
  label: Type.String(),
  score: Type.Number({ minimum: 0, maximum: 1 }),
  box: Box,
  /** Pixels in the mask. */
  area: Type.Integer({ minimum: 0 }),
  mask: RleMask,
});

/**
 * One object's mask in one frame.
 *
 * @example
 * ```ts
 * for (const o of chunk.objects) console.log(o.objectId, o.label, o.score, decodeRle(o.mask));
 * ```
 */
export type ObjectMask = Type.Static<typeof ObjectMask>;

/**
 * A streamed chunk of `sam3.segment`: every object found in one frame.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "frame") console.log(c.frame, c.time, c.objects.length);
 * ```
 */
export const Sam3FrameMasks: TObject<{ type: TLiteral<"frame">; frame: TInteger; time: TNumber; objects: TArray<typeof ObjectMask> }> = Type.Object({
  type: Type.Literal("frame"),
  frame: Type.Integer({ minimum: 0 }),
  /** Seconds from the start of the video. */
  time: Type.Number({ minimum: 0 }),
  objects: Type.Array(ObjectMask),
});

/**
 * A streamed chunk of `sam3.segment`: every object found in one frame.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "frame") console.log(c.frame, c.time, c.objects.length);
 * ```
 */
export type Sam3FrameMasks = Type.Static<typeof Sam3FrameMasks>;

/**
 * A streamed chunk of `sam3.segment`: how far the job is (frames decoded, segmented...).
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "progress") console.log(`${c.done}/${c.total}`);
 * ```
 */
export const Sam3Progress: TObject<{ type: TLiteral<"progress">; done: TNumber; total: TNumber; stage: TOptional<TString> }> = Type.Object({
  type: Type.Literal("progress"),
  done: Type.Number({ minimum: 0 }),
  total: Type.Number({ minimum: 0 }),
  stage: Type.Optional(Type.String({ maxLength: 100 })),
});

/**
 * A streamed chunk of `sam3.segment`: how far the job is.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "progress") console.log(`${c.done}/${c.total}`);
 * ```
 */
export type Sam3Progress = Type.Static<typeof Sam3Progress>;

/**
 * The last streamed chunk of `sam3.segment`, after every frame.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "summary") console.log(c.frames, c.fps, c.objects);
 * ```
 */
export const Sam3Summary: TObject<{
  type: TLiteral<"summary">;
  frames: TInteger;
  width: TInteger;
  height: TInteger;
  fps: TNumber;
  objects: TArray<TObject<{ objectId: TInteger; label: TString; frames: TInteger }>>;
  model: TString;
}> = Type.Object({
  type: Type.Literal("summary"),
  frames: Type.Integer({ minimum: 0 }),
  width: Type.Integer({ minimum: 0 }),
  height: Type.Integer({ minimum: 0 }),
  fps: Type.Number({ minimum: 0 }),
  objects: Type.Array(Type.Object({
    objectId: Type.Integer({ minimum: 1 }),
    label: Type.String(),
    /** Frames in which the object was found. */
    frames: Type.Integer({ minimum: 0 }),
  })),
  /** Which backend and model produced the masks, e.g. `demo-framediff`. */
  model: Type.String(),
});

/**
 * The last streamed chunk of `sam3.segment`.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "summary") console.log(c.frames, c.fps, c.objects);
 * ```
 */
export type Sam3Summary = Type.Static<typeof Sam3Summary>;

/**
 * One streamed chunk of `sam3.segment`: `progress` chunks, one `frame` chunk per frame in order,
 * then exactly one `summary` chunk.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "summary") console.log(c.objects);
 * ```
 */
export const Sam3Chunk: TUnion<[typeof Sam3Progress, typeof Sam3FrameMasks, typeof Sam3Summary]> = Type.Union([Sam3Progress, Sam3FrameMasks, Sam3Summary]);

/**
 * One streamed chunk of `sam3.segment`.
 *
 * @example
 * ```ts
 * for await (const c of client.sam3.segment(input)) if (c.type === "summary") console.log(c.objects);
 * ```
 */
export type Sam3Chunk = Type.Static<typeof Sam3Chunk>;

/**
 * `sam3.segment` input with every default filled in.
 *
 * @example
 * ```ts
 * const req: Sam3Request = resolveSam3Input(input); // threshold filled in
 * ```
 */
export type Sam3Request = Required<Sam3Input>;

/**
 * Fills in the defaults of a `sam3.segment` input.
 *
 * @example
 * ```ts
 * import { resolveSam3Input } from "malamute/forge";
 * resolveSam3Input({ video, prompts: [{ type: "text", text: "ball" }] }).threshold; // 0.5
 * ```
 */
export function resolveSam3Input(input: Sam3Input): Sam3Request {
  return { ...input, threshold: input.threshold ?? 0.5 };
}
