/**
 * A short test clip for the tracking step: the generated picture, scaled down, with a paper
 * kite flying across it. Also draws the masks sam3 returned back onto the frames.
 */
import { createImage, decodePng, decodeRle, downsample, encodePng, type RgbaImage, type Sam3FrameMasks } from "../../src/forge/mod.ts";

/** Where the kite is in frame `i` of `n`, in pixels of a `w`×`h` frame. */
export function kitePosition(i: number, n: number, w: number, h: number): { x: number; y: number } {
  const t = n > 1 ? i / (n - 1) : 0;
  return { x: w * (0.15 + 0.7 * t), y: h * (0.3 + 0.12 * Math.sin(t * Math.PI * 2)) };
}

/** Frames of the clip, each a PNG file, and the kite's position in frame 0. */
export function makeKiteClip(backgroundPng: Uint8Array, frames = 16, maxSide = 192): { frames: Uint8Array[]; start: { x: number; y: number }; width: number; height: number } {
  const background = downsample(decodePng(backgroundPng), maxSide);
  const { width: w, height: h } = background;
  const size = Math.max(6, Math.round(Math.min(w, h) * 0.09));
  const out: Uint8Array[] = [];
  for (let i = 0; i < frames; i++) {
    const frame: RgbaImage = { width: w, height: h, data: background.data.slice() };
    const { x, y } = kitePosition(i, frames, w, h);
    const sway = Math.sin(i * 0.9) * 0.25;
    for (let py = Math.floor(y - size * 2.2); py <= y + size * 2.2; py++) {
      for (let px = Math.floor(x - size * 1.2); px <= x + size * 1.2; px++) {
        if (px < 0 || py < 0 || px >= w || py >= h) continue;
        const dx = px - x, dy = py - y;
        const rx = dx * Math.cos(sway) + dy * Math.sin(sway), ry = -dx * Math.sin(sway) + dy * Math.cos(sway);
        const inKite = Math.abs(rx) / (size * 0.8) + Math.abs(ry) / size <= 1;
        const inTail = ry > size && ry < size * 2.1 && Math.abs(rx - Math.sin(ry * 0.6) * 2) < 1;
        if (!inKite && !inTail) continue;
        const o = (py * w + px) * 4;
        const c = inTail ? [250, 240, 120] : (rx < 0) === (ry < 0) ? [235, 60, 50] : [250, 205, 60];
        frame.data.set([c[0]!, c[1]!, c[2]!, 255], o);
      }
    }
    out.push(encodePng(frame));
  }
  return { frames: out, start: kitePosition(0, frames, w, h), width: w, height: h };
}

/** The clip's frames with each object's mask tinted in, for out/tracking.apng. */
export function drawMasks(framesPng: Uint8Array[], masks: Sam3FrameMasks[]): RgbaImage[] {
  const tints: Array<[number, number, number]> = [[40, 220, 255], [120, 255, 90], [255, 90, 220]];
  return framesPng.map((png, i) => {
    const frame = decodePng(png);
    const out = createImage(frame.width, frame.height);
    out.data.set(frame.data);
    for (const object of masks.find((m) => m.frame === i)?.objects ?? []) {
      const mask = decodeRle(object.mask);
      const tint = tints[(object.objectId - 1) % tints.length]!;
      for (let p = 0; p < mask.length; p++) {
        if (!mask[p]) continue;
        for (let c = 0; c < 3; c++) out.data[p * 4 + c] = Math.round(out.data[p * 4 + c]! * 0.45 + tint[c]! * 0.55);
      }
    }
    return out;
  });
}
