import { resolveSam3Input, type ObjectMask, type Sam3Chunk, type Sam3Input, type SegmentPrompt } from "../../contracts/sam3.ts";
import { ForgeCode, ForgeError } from "../../errors.ts";
import { decodeApng } from "../../media/apng.ts";
import { findColors, nameColor, rgbToHsl } from "../../media/colors.ts";
import type { RgbaImage } from "../../media/image.ts";
import { medianBackground, movingRegions, trackRegions, type Region } from "../../media/motion.ts";
import { decodePng, isPng } from "../../media/png-decode.ts";
import { encodeRle } from "../../media/rle.ts";
import type { BackendContext, Sam3Backend } from "../types.ts";
import { breathe, check } from "./util.ts";

/**
 * The name this backend reports as its `model`.
 *
 * @example
 * ```ts
 * demoSam3().name === DEMO_SAM3_NAME; // true, "demo-framediff"
 * ```
 */
export const DEMO_SAM3_NAME = "demo-framediff";

/**
 * Options of {@link demoSam3}.
 *
 * @example
 * ```ts
 * const backend = demoSam3({ maxTotalPixels: 20_000_000 });
 * ```
 */
export interface DemoSam3Options {
  /** Largest accepted `frames * width * height`. Default 60 000 000. */
  maxTotalPixels?: number;
}

/**
 * A stand-in for SAM 3 that runs anywhere: it finds what moves. It models the static
 * background as the per-pixel median of the frames, marks pixels that differ from it, cleans
 * the mask, splits it into regions and links regions across frames into tracks. Prompts pick
 * tracks: a text prompt selects every moving region (narrowed to a colour when the text names
 * one, e.g. "red ball"); a point or box selects the track under it in that frame; a negative
 * point excludes one. It does not understand what objects are, and anything that stands still
 * is invisible to it. Video: a list of PNG frames, or an animated PNG file (`image/apng`).
 *
 * @example
 * ```ts
 * import { demoSam3 } from "malamute/forge";
 * const input = { video: { kind: "frames", frames, fps: 12 }, prompts: [{ type: "point", frame: 0, x: 40, y: 30 }] } as const;
 * for await (const chunk of demoSam3().segment(input, { signal: AbortSignal.timeout(30_000) })) {
 *   if (chunk.type === "frame") console.log(chunk.frame, chunk.objects.map((o) => o.area));
 * }
 * ```
 */
export function demoSam3(options: DemoSam3Options = {}): Sam3Backend {
  const maxTotalPixels = options.maxTotalPixels ?? 60_000_000;
  return {
    name: DEMO_SAM3_NAME,
    async *segment(input: Sam3Input, ctx: BackendContext): AsyncGenerator<Sam3Chunk> {
      const req = resolveSam3Input(input);
      const { frames, times } = await decodeVideo(req.video, maxTotalPixels, ctx.signal);
      const first = frames[0]!;
      const total = frames.length;
      yield { type: "progress", done: 0, total, stage: "background" };
      await breathe(ctx.signal);
      const background = medianBackground(frames);
      const perFrame: Region[][] = [];
      for (const [i, frame] of frames.entries()) {
        perFrame.push(frames.length > 1 ? movingRegions(frame, background) : []);
        if (i % 4 === 3 || i === total - 1) {
          yield { type: "progress", done: i + 1, total, stage: "analyze" };
          await breathe(ctx.signal);
        }
      }
      trackRegions(perFrame);
      const selection = selectTracks(req.prompts, perFrame, first);
      const framesPresent = new Map<number, number>();
      for (const [i, regions] of perFrame.entries()) {
        const objects: ObjectMask[] = [];
        for (const region of regions) {
          const chosen = selection.get(region.track);
          if (!chosen) continue;
          const score = regionScore(region);
          if (score < req.threshold) continue;
          const mask = new Uint8Array(first.width * first.height);
          for (const p of region.pixels) mask[p] = 1;
          objects.push({ objectId: chosen.objectId, label: chosen.label, score, box: region.box, area: region.area, mask: encodeRle(mask, first.width, first.height) });
          framesPresent.set(chosen.objectId, (framesPresent.get(chosen.objectId) ?? 0) + 1);
        }
        objects.sort((a, b) => a.objectId - b.objectId);
        yield { type: "frame", frame: i, time: times[i]!, objects };
        if (i % 8 === 7) await breathe(ctx.signal);
      }
      const objects = [...new Map([...selection.values()].map((s) => [s.objectId, s])).values()]
        .map((s) => ({ objectId: s.objectId, label: s.label, frames: framesPresent.get(s.objectId) ?? 0 }));
      const duration = times[total - 1]! + (total > 1 ? times[total - 1]! - times[total - 2]! : 0);
      yield {
        type: "summary",
        frames: total,
        width: first.width,
        height: first.height,
        fps: duration > 0 ? total / duration : 0,
        objects,
        model: DEMO_SAM3_NAME,
      };
    },
  };
}

/** Decodes the video into same-size RGBA frames and their start times (seconds). */
async function decodeVideo(
  video: Sam3Input["video"],
  maxTotalPixels: number,
  signal: AbortSignal,
): Promise<{ frames: RgbaImage[]; times: number[] }> {
  if (video.kind === "file") {
    if (!isPng(video.data)) {
      throw new ForgeError(ForgeCode.Unsupported, `${DEMO_SAM3_NAME} decodes animated PNG (image/apng) only, not ${video.mimeType}; send decoded frames instead`, {
        details: { mimeType: video.mimeType },
      });
    }
    const anim = decodeApng(video.data, { maxPixels: maxTotalPixels });
    check(anim.frames.length * anim.width * anim.height <= maxTotalPixels, `video larger than ${maxTotalPixels} pixels in total`);
    let t = 0;
    const times = anim.delays.map((d) => {
      const start = t;
      t += d > 0 ? d : 1 / 25;
      return start;
    });
    return { frames: anim.frames, times };
  }
  const fps = video.fps ?? 25;
  const frames: RgbaImage[] = [];
  let pixels = 0;
  for (const [i, file] of video.frames.entries()) {
    if (!isPng(file.data)) {
      throw new ForgeError(ForgeCode.Unsupported, `${DEMO_SAM3_NAME} decodes PNG frames only; frame ${i} is ${file.mimeType}`, { details: { index: i } });
    }
    const image = decodePng(file.data);
    pixels += image.width * image.height;
    check(pixels <= maxTotalPixels, `video larger than ${maxTotalPixels} pixels in total`);
    const first = frames[0];
    check(!first || (first.width === image.width && first.height === image.height), `frame ${i} is ${image.width}×${image.height}, frame 0 is ${first?.width}×${first?.height}`);
    frames.push(image);
    if (i % 16 === 15) await breathe(signal);
  }
  return { frames, times: frames.map((_, i) => i / fps) };
}

/** How clearly a region stands out: 0.5 at the detection threshold, approaching 1 well above it. */
function regionScore(region: Region): number {
  const s = 0.5 + 0.5 * (1 - Math.exp(-Math.max(0, region.strength - 24) / 40));
  return Math.round(Math.min(0.99, s) * 1000) / 1000;
}

/** Chosen track → the object id and label it is reported with. */
function selectTracks(prompts: SegmentPrompt[], perFrame: Region[][], frame0: RgbaImage): Map<number, { objectId: number; label: string }> {
  const excluded = new Set<number>();
  const picked: Array<{ track: number; label: string }> = [];
  const at = (frame: number) => perFrame[Math.min(Math.max(0, frame), perFrame.length - 1)] ?? [];
  prompts.forEach((prompt, i) => {
    if (prompt.type === "text") {
      const wanted = findColors(prompt.text).map((c) => c.rgb);
      const tracks = new Map<number, Region[]>();
      for (const regions of perFrame) for (const r of regions) tracks.set(r.track, [...(tracks.get(r.track) ?? []), r]);
      for (const [track, regions] of tracks) {
        if (wanted.length && !wanted.some((rgb) => sameHue(rgb, meanRgb(regions)))) continue;
        picked.push({ track, label: `text:${prompt.text}` });
      }
      return;
    }
    const regions = at(prompt.frame ?? 0);
    let hit: Region | undefined;
    if (prompt.type === "point") {
      const x = Math.round(prompt.x), y = Math.round(prompt.y);
      const index = y * frame0.width + x;
      hit = regions.find((r) => binarySearch(r.pixels, index));
      if (!hit) {
        const reach = Math.hypot(frame0.width, frame0.height) * 0.05;
        let best = reach;
        for (const r of regions) {
          const d = Math.hypot(r.centroid.x - x, r.centroid.y - y) - Math.max(r.box.width, r.box.height) / 2;
          if (d < best) { best = d; hit = r; }
        }
      }
      if (hit && prompt.positive === false) {
        excluded.add(hit.track);
        return;
      }
    } else {
      let best = 0;
      for (const r of regions) {
        let inside = 0;
        for (const p of r.pixels) {
          const px = p % frame0.width, py = (p - px) / frame0.width;
          if (px >= prompt.x && px < prompt.x + prompt.width && py >= prompt.y && py < prompt.y + prompt.height) inside++;
        }
        if (inside > best) { best = inside; hit = r; }
      }
    }
    if (hit) picked.push({ track: hit.track, label: `${prompt.type}#${i}` });
  });
  const out = new Map<number, { objectId: number; label: string }>();
  let next = 1;
  for (const { track, label } of picked) {
    if (excluded.has(track) || out.has(track)) continue;
    out.set(track, { objectId: next++, label });
  }
  return out;
}

function meanRgb(regions: Region[]): [number, number, number] {
  const sum: [number, number, number] = [0, 0, 0];
  let n = 0;
  for (const r of regions) {
    sum[0] += r.rgb[0] * r.area; sum[1] += r.rgb[1] * r.area; sum[2] += r.rgb[2] * r.area;
    n += r.area;
  }
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** Same colour family: same name for greys, hues within 35° for colours. */
function sameHue(a: readonly [number, number, number], b: [number, number, number]): boolean {
  const [ha, sa] = rgbToHsl(a[0], a[1], a[2]);
  const [hb, sb] = rgbToHsl(b[0], b[1], b[2]);
  if (sa < 0.15 || sb < 0.15) return nameColor(a[0], a[1], a[2]) === nameColor(b[0], b[1], b[2]);
  const d = Math.abs(ha - hb) % 360;
  return Math.min(d, 360 - d) <= 35;
}

function binarySearch(sorted: Uint32Array, value: number): boolean {
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
