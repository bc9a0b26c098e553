/**
 * Regenerates examples/forge/assets/sample.png, the image the Forge demo pipeline starts from:
 * `npx tsx examples/forge/assets/make-sample.ts`. It uses the demo procedural renderer, so the
 * file is reproducible byte for byte.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encodePng, parseScene, renderScene } from "../../../src/forge/mod.ts";

const PROMPT = "snowy mountains and a pine forest above a calm lake at sunset, warm orange sky";
const render = renderScene(parseScene(PROMPT, "", 42, 2), 320, 208, 6);
for (const layer of render.layers) layer.paint();
const png = encodePng(render.finish(), { text: { Description: PROMPT, Software: "malamute demo-procedural renderer" } });
const path = fileURLToPath(new URL("./sample.png", import.meta.url));
writeFileSync(path, png);
console.log(`wrote ${path} (${png.length} bytes)`);
