import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { analyzeImage, findColors, nameColor, parseScene, renderScene } from "../../src/forge/mod.ts";
import { pattern } from "./helpers.ts";

describe("prompt → scene (demo-procedural)", () => {
  it("reads time of day and features from the prompt's words, including plurals and derived forms", () => {
    const s = parseScene("Snowy mountains and a reflection on the lake at dusk", "", 1, 0);
    assert.equal(s.time, "sunset");
    assert.equal(s.features.mountains, true);
    assert.equal(s.features.snow, true);
    assert.equal(s.features.water, true);
    assert.equal(parseScene("a city skyline at night", "", 1, 0).time, "night");
  });

  it("switches off whole words of the negative prompt only ('watermark' keeps the water)", () => {
    assert.equal(parseScene("a calm lake", "blurry, text, watermark", 1, 0).features.water, true);
    assert.equal(parseScene("a calm lake", "water", 1, 0).features.water, false);
    assert.equal(parseScene("hills with clouds", "clouds", 1, 0).features.clouds, false);
  });

  it("takes colour words with their modifiers and drops colours named in the negative prompt", () => {
    assert.deepEqual(findColors("a dark blue sea under a golden sky").map((c) => c.name), ["dark blue", "golden"]);
    assert.deepEqual(parseScene("red and blue hills", "blue", 1, 0).colorWords, ["red"]);
  });

  it("places the light where the prompt says the bright area is", () => {
    assert.ok(parseScene("hills; the brightest area sits near the upper right", "", 1, 0).light.x > 0.7);
    assert.ok(parseScene("hills; the brightest area sits near the upper left", "", 1, 0).light.x < 0.3);
  });

  it("renders deterministically for a seed", () => {
    const draw = (seed: number) => {
      const r = renderScene(parseScene("mountains over a lake", "", seed, 0), 48, 32, 3);
      for (const layer of r.layers) layer.paint();
      return r.finish().data;
    };
    assert.deepEqual(draw(4), draw(4));
    assert.notDeepEqual(draw(4), draw(5));
  });
});

describe("image analysis (demo-image-stats)", () => {
  it("names colours plainly", () => {
    assert.equal(nameColor(20, 40, 120), "dark blue");
    assert.equal(nameColor(250, 250, 250), "white");
    assert.equal(nameColor(128, 128, 128), "grey");
    assert.equal(nameColor(220, 130, 50), "orange");
    assert.equal(nameColor(255, 120, 0), "bright orange");
  });

  it("finds a mirror line in a vertically mirrored image and none in a gradient", () => {
    const mirrored = pattern(40, 40, (x, y) => {
      const yy = y < 20 ? y : 39 - y;
      return [yy * 12, (x * 6) % 255, 100];
    });
    const m = analyzeImage(mirrored).mirror;
    assert.ok(m.score > 0.8, `score ${m.score}`);
    assert.ok(Math.abs(m.line - 0.5) < 0.05, `line ${m.line}`);
    const gradient = pattern(40, 40, (_x, y) => [y * 6, y * 6, y * 6]);
    assert.ok(analyzeImage(gradient).mirror.score < 0.3);
  });

  it("measures brightness, dominant colours and edge direction", () => {
    const stripes = pattern(64, 64, (_x, y) => ((y >> 3) & 1 ? [250, 250, 250] : [10, 10, 10]));
    const s = analyzeImage(stripes);
    assert.ok(Math.abs(s.brightness - 0.5) < 0.05);
    assert.deepEqual(s.dominant.map((c) => c.name).sort(), ["black", "white"]);
    assert.ok(s.edges.horizontal > 0.9);
  });
});
