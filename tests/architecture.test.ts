// Enforces design.md §2: each layer imports only from the layers below it, and the
// sans-I/O cores touch no sockets, timers, clocks or runtime globals.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const LAYER_OF: Array<[prefix: string, layer: number]> = [
  ["src/errors.ts", 0],
  ["src/util/", 0],
  // Storage sits beside the protocol layers: it imports only src/util (and node: in its file adapter).
  ["src/storage/", 1],
  ["src/zmtp/", 1],
  ["src/transport/", 2],
  ["src/proto/", 3],
  ["src/broker/", 4],
  ["src/client/", 4],
  ["src/rpc/", 5],
  ["src/forge/", 6],
  // The broker's HTTP endpoint (metrics, admin API, dashboard page): imports the broker and the RPC codec.
  ["src/http/", 6],
  ["src/cli/", 7],
  // The testing kit (malamute/testing): a broker, mocked RPC services and a forge.events recorder.
  ["src/testing/", 7],
];

function layerOf(file: string): { layer: number; prefix: string } | undefined {
  for (const [prefix, layer] of LAYER_OF) if (file.startsWith(prefix)) return { layer, prefix };
  return undefined;
}

function imports(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2]) as string);
  return specs;
}

const files = walk(join(root, "src")).map((f) => relative(root, f).split("\\").join("/"));

/** Files of the broker that bind the core to I/O (design.md §2 "broker server"). */
const BROKER_IO = /^src\/broker\/(server|main|config-file|logger|storage-options|store-gate)[^/]*\.ts$/;
/** The storage file adapter: the only files of src/storage that touch the file system, timers and clocks. */
const STORAGE_IO = /^src\/storage\/file-[^/]*\.ts$/;
const SANS_IO = (file: string) =>
  file.startsWith("src/zmtp/") || file.startsWith("src/proto/") ||
  (file.startsWith("src/broker/") && !BROKER_IO.test(file)) ||
  (file.startsWith("src/storage/") && !STORAGE_IO.test(file));

describe("architecture (design.md §2)", () => {
  it("every source file belongs to a layer", () => {
    for (const file of files) assert.ok(layerOf(file), `${file} is outside every layer`);
  });

  it("a layer imports only from itself and the layers below it", () => {
    for (const file of files) {
      const own = layerOf(file)!;
      for (const spec of imports(readFileSync(join(root, file), "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = relative(root, resolve(root, dirname(file), spec)).split("\\").join("/");
        const other = layerOf(target);
        assert.ok(other, `${file} imports ${spec}, outside every layer`);
        const sameFolder = other.prefix === own.prefix;
        assert.ok(sameFolder || other.layer < own.layer, `${file} (layer ${own.layer}) imports ${target} (layer ${other.layer})`);
      }
    }
  });

  it("relative imports carry the .ts extension", () => {
    for (const file of [...files, "mod.ts"]) {
      for (const spec of imports(readFileSync(join(root, file), "utf8"))) {
        if (spec.startsWith(".")) assert.match(spec, /\.ts$/, `${file} imports ${spec} without .ts`);
      }
    }
  });

  it("sans-I/O cores use no runtime I/O, timers or clocks", () => {
    const forbidden = /\bfrom\s*["']node:|\bDeno\.|\bBun\.|\bsetTimeout\(|\bsetInterval\(|\bDate\.now\(|\bperformance\.now\(|\bprocess\./;
    const cores = files.filter(SANS_IO);
    assert.ok(cores.length > 0);
    for (const file of cores) {
      const code = readFileSync(join(root, file), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      const hit = forbidden.exec(code);
      assert.equal(hit, null, `${file} is a sans-I/O core but uses ${hit?.[0]}`);
    }
  });

  it("the client's building blocks import neither its shared session state nor the MlmClient façade", () => {
    // The parts of MlmClient work on one ClientCore; the blocks they use (inbox, credit, routes,
    // queues, consumers...) stay free of it, so each can be read and unit-tested alone.
    const parts = /^src\/client\/(client|mod|session\/(core|lifecycle|reconnect|answers)|send\/outbox|receive\/(dispatch|subscribe)|streams\/start-consumer)\.ts$/;
    const blocks = files.filter((f) => f.startsWith("src/client/") && !parts.test(f));
    assert.ok(blocks.length > 0);
    for (const file of blocks) {
      for (const spec of imports(readFileSync(join(root, file), "utf8"))) {
        const target = relative(root, resolve(root, dirname(file), spec)).split("\\").join("/");
        assert.ok(!parts.test(target), `${file} is a building block of the client but imports ${target}`);
      }
    }
  });
});
