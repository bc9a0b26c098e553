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
const BROKER_IO = /^src\/broker\/(server|main|config-file|logger|durable\/storage-options|durable\/store-gate|security\/server-curve-auth)[^/]*\.ts$/;
/** The storage file adapter: the only files of src/storage that touch the file system, timers and clocks. */
const STORAGE_IO = /^src\/storage\/file\/[^/]*\.ts$/;
/** Which folders of src/rpc each one must not import: the wire format and the shared pieces know neither side, and the two sides know nothing of each other. */
const RPC_FORBIDDEN: Array<[folder: string, forbidden: string[]]> = [
  ["src/rpc/wire/", ["src/rpc/client/", "src/rpc/worker/", "src/rpc/shared/"]],
  ["src/rpc/shared/", ["src/rpc/client/", "src/rpc/worker/"]],
  ["src/rpc/client/", ["src/rpc/worker/"]],
  ["src/rpc/worker/", ["src/rpc/client/"]],
];

/** The files a source file imports by relative path, as paths from the root. */
function relativeImports(file: string): string[] {
  return imports(readFileSync(join(root, file), "utf8"))
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(root, resolve(root, dirname(file), spec)).split("\\").join("/"));
}

const SANS_IO = (file: string) =>
  file.startsWith("src/zmtp/") || file.startsWith("src/proto/") ||
  (file.startsWith("src/broker/") && !BROKER_IO.test(file)) ||
  (file.startsWith("src/storage/") && !STORAGE_IO.test(file));

/**
 * Directions inside a layer's concept folders (issue 21): `file` matching `from` must not import
 * a file matching `to`. Each rule says why; every `from` and `to` must match some file, so a
 * rename cannot silently turn a rule off.
 */
const FOLDER_RULES: Array<{ from: RegExp; to: RegExp; why: string }> = [
  {
    from: /^src\/zmtp\/(?!mod\.ts$)[^/]+\.ts$/, to: /^src\/zmtp\/mechanism\/(?!types\.ts$)/,
    why: "the ZMTP engine sees security mechanisms only through mechanism/types.ts",
  },
  {
    from: /^src\/zmtp\/mechanism\//, to: /^src\/zmtp\/(session|session-types|peer|frame-decoder|receive-budget|mod)\.ts$/,
    why: "mechanisms do not depend on the session that drives them",
  },
  {
    from: /^src\/zmtp\/mechanism\/[^/]+\.ts$/, to: /^src\/zmtp\/mechanism\/curve\//,
    why: "the mechanism contract, NULL and PLAIN do not depend on CURVE",
  },
  {
    from: /^src\/transport\/(?!zmtp\.ts$|zeromq\.ts$)[^/]+\.ts$/, to: /^src\/transport\/[^/]+\//,
    why: "shared transport files do not depend on one transport's folder (only the entries zmtp.ts and zeromq.ts do)",
  },
  {
    from: /^src\/transport\/(tcp|socket)\//, to: /^src\/transport\/(zeromq\/|zeromq\.ts$|inproc\.ts$)/,
    why: "the zmtp transport does not depend on the other transports",
  },
  {
    from: /^src\/transport\/zeromq\//, to: /^src\/transport\/(tcp\/|socket\/|inproc\.ts$|zmtp\.ts$)/,
    why: "the libzmq transport does not depend on the other transports",
  },
  {
    from: /^src\/transport\/socket\//, to: /^src\/transport\/tcp\//,
    why: "runtime sockets do not depend on the TCP transport that drives them",
  },
  {
    from: /^src\/(?!proto\/pattern\/)/, to: /^src\/proto\/pattern\/(?!mod\.ts$)/,
    why: "the pattern engine is used through its entry, proto/pattern/mod.ts",
  },
  {
    from: /^src\/proto\/pattern\//, to: /^src\/(?!proto\/pattern\/)/,
    why: "the pattern engine is self-contained",
  },
];

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

  it("concept folders keep their internal directions", () => {
    for (const rule of FOLDER_RULES) {
      assert.ok(files.some((f) => rule.from.test(f)), `no file matches ${rule.from}`);
      assert.ok(files.some((f) => rule.to.test(f)), `no file matches ${rule.to}`);
    }
    for (const file of files) {
      for (const spec of imports(readFileSync(join(root, file), "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = relative(root, resolve(root, dirname(file), spec)).split("\\").join("/");
        for (const rule of FOLDER_RULES) {
          assert.ok(!(rule.from.test(file) && rule.to.test(target)), `${file} imports ${target}: ${rule.why}`);
        }
      }
    }
  });

  it("only the zeromq transport loads the zeromq package (a native addon other runtimes cannot load)", () => {
    for (const file of files) {
      const loads = imports(readFileSync(join(root, file), "utf8")).includes("zeromq");
      assert.ok(!loads || file.startsWith("src/transport/zeromq/"), `${file} imports the zeromq package`);
    }
  });

  it("relative imports carry the .ts extension", () => {
    for (const file of [...files, "mod.ts"]) {
      for (const spec of imports(readFileSync(join(root, file), "utf8"))) {
        if (spec.startsWith(".")) assert.match(spec, /\.ts$/, `${file} imports ${spec} without .ts`);
      }
    }
  });

  it("the broker core's pieces sit above its data structures, and only its façade is used outside", () => {
    // src/broker/core/ holds plain functions over one shared state: what they export is internal
    // to the folder. model/, security/ and durable/ are what the core is made of, so they never
    // import it back.
    const lower = /^src\/broker\/(model|security|durable)\//;
    for (const file of files.filter((f) => f.startsWith("src/broker/"))) {
      for (const spec of imports(readFileSync(join(root, file), "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = relative(root, resolve(root, dirname(file), spec)).split("\\").join("/");
        if (!target.startsWith("src/broker/core/")) continue;
        assert.ok(!lower.test(file), `${file} imports ${target}: model/, security/ and durable/ sit below the core`);
        assert.ok(
          file.startsWith("src/broker/core/") || target === "src/broker/core/broker-core.ts",
          `${file} imports ${target}: outside src/broker/core/, use the BrokerCore façade (core/broker-core.ts)`,
        );
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

  it("src/rpc: wire/ and shared/ import neither side, client/ and worker/ not each other", () => {
    for (const file of files) {
      const rule = RPC_FORBIDDEN.find(([folder]) => file.startsWith(folder));
      if (rule === undefined) continue;
      for (const target of relativeImports(file)) {
        const hit: string | undefined = rule[1].find((folder) => target.startsWith(folder));
        assert.equal(hit, undefined, `${file} imports ${target}`);
      }
    }
  });

  it("src/rpc has no import cycles", () => {
    const rpc = files.filter((file) => file.startsWith("src/rpc/"));
    const edges = new Map(rpc.map((file) => [file, relativeImports(file).filter((t) => t.startsWith("src/rpc/"))]));
    // Depth-first search: a file met again while still on the path closes a cycle.
    const done = new Set<string>();
    const path: string[] = [];
    const visit = (file: string): void => {
      const at = path.indexOf(file);
      assert.equal(at, -1, `import cycle: ${[...path.slice(at), file].join(" -> ")}`);
      if (done.has(file)) return;
      path.push(file);
      for (const target of edges.get(file) ?? []) visit(target);
      path.pop();
      done.add(file);
    };
    assert.ok(rpc.length > 0);
    for (const file of rpc) visit(file);
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
