// Type-checks the TypeScript blocks of the docs as written (issue 20 item 14): each ```ts block
// becomes a module under a scratch directory inside the repository, the package's import
// specifiers ("malamute", "malamute/forge", …) map to the source entry points through a generated
// tsconfig, and one `tsc --noEmit` run checks them all. Diagnostics are mapped back to the
// Markdown file and line, so a failure points at the doc to fix.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { createRequire } from "node:module";

/** A fenced code block of a Markdown file. */
export interface DocBlock {
  /** The Markdown file, relative to the repository root. */
  doc: string;
  /** 1-based line of the first line of code (the line after the fence). */
  line: number;
  /** The fence's info string, e.g. `ts`, `ts outline`, `ts file=contracts.ts`. */
  info: string;
  code: string;
}

/** How a block is treated: checked as a module, deliberately unchecked, or not TypeScript. */
export type BlockKind =
  | { kind: "check"; file?: string }
  | { kind: "outline" }
  | { kind: "other" }
  | { kind: "invalid"; reason: string };

const TS_LANGS = new Set(["ts", "typescript", "tsx", "mts"]);

/**
 * Classifies a block by its info string: `ts` is checked; `ts outline` marks a shape or
 * pseudo-code that is not meant to compile; `ts file=NAME.ts` is checked and other blocks of the
 * same doc may import it as `./NAME.ts`. Any other word after `ts` is refused, so a typo cannot
 * silently skip a block.
 * @example
 * classifyBlock("ts outline"); // { kind: "outline" }
 */
export function classifyBlock(info: string): BlockKind {
  const [lang = "", ...words] = info.trim().split(/\s+/);
  if (!TS_LANGS.has(lang.toLowerCase())) return { kind: "other" };
  if (words.length === 0) return { kind: "check" };
  if (words.length === 1 && words[0] === "outline") return { kind: "outline" };
  const file = words.length === 1 ? /^file=([\w.-]+\.ts)$/.exec(words[0]!)?.[1] : undefined;
  if (file) return { kind: "check", file };
  return { kind: "invalid", reason: `unknown info string "${info}" (use "ts", "ts outline" or "ts file=NAME.ts")` };
}

/**
 * The fenced blocks of a Markdown text (``` and ~~~ fences, CommonMark's closing rule).
 * @example
 * extractBlocks("README.md", "```ts\nlet x = 1;\n```\n"); // [{ doc: "README.md", line: 2, info: "ts", code: "let x = 1;\n" }]
 */
export function extractBlocks(doc: string, markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j]!)) body.push(lines[j++]!);
    blocks.push({ doc, line: i + 2, info: open[2]!.trim(), code: body.length ? body.join("\n") + "\n" : "" });
    i = j;
  }
  return blocks;
}

/** A problem with a doc block, located in the Markdown file. */
export interface DocProblem {
  doc: string;
  line: number;
  message: string;
}

/** The package's import specifiers and the source file each one stands for. */
export const ENTRY_POINTS: Record<string, string> = {
  malamute: "mod.ts",
  "malamute/zeromq": "src/transport/zeromq.ts",
  "malamute/cli": "src/cli/main.ts",
  "malamute/forge": "src/forge/mod.ts",
  "malamute/http": "src/http/mod.ts",
  "malamute/testing": "src/testing/mod.ts",
};

/** README.md and docs/*.md of a checkout, as { path, text } with paths relative to `root`. */
export function repoDocs(root: string): Array<{ path: string; text: string }> {
  const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((n) => n.endsWith(".md")).sort().map((n) => `docs/${n}`)];
  return docs.map((path) => ({ path, text: readFileSync(join(root, path), "utf8") }));
}

interface Placed { block: DocBlock; file: string }

function place(docs: Array<{ path: string; text: string }>, dir: string, problems: DocProblem[]): Placed[] {
  const placed: Placed[] = [];
  for (const { path, text } of docs) {
    const docDir = join(dir, path.replace(/\.md$/, "").replace(/[^\w/-]/g, "_"));
    for (const block of extractBlocks(path, text)) {
      const kind = classifyBlock(block.info);
      if (kind.kind === "invalid") problems.push({ doc: block.doc, line: block.line - 1, message: kind.reason });
      if (kind.kind !== "check") continue;
      const file = join(docDir, kind.file ?? `line-${block.line}.ts`);
      mkdirSync(dirname(file), { recursive: true });
      // `export {}` makes a block without imports a module too (top-level await, own scope).
      writeFileSync(file, block.code + "export {};\n");
      placed.push({ block, file });
    }
  }
  return placed;
}

function runTsc(project: string, cwd: string): Promise<string> {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  // Node runs tsc whatever runtime runs this file (bun test, deno test): one toolchain, one result.
  return new Promise((done, fail) => {
    execFile("node", [tsc, "--noEmit", "--pretty", "false", "-p", project], { cwd, encoding: "utf8", maxBuffer: 16 << 20, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err && (err as { code?: unknown }).code !== 2 && (err as { code?: unknown }).code !== 1) fail(new Error(`tsc failed to run: ${err.message}\n${stderr}`));
        else done(stdout + stderr);
      });
  });
}

/**
 * Type-checks every checked TypeScript block of `docs` in one tsc run and returns the problems,
 * located in the Markdown files (empty = every block compiles as written).
 * @example
 * const problems = await checkDocBlocks(root, repoDocs(root));
 * for (const p of problems) console.error(`${p.doc}:${p.line}: ${p.message}`);
 */
export async function checkDocBlocks(root: string, docs: Array<{ path: string; text: string }>): Promise<DocProblem[]> {
  const scratchRoot = join(root, ".tmp");
  mkdirSync(scratchRoot, { recursive: true });
  const dir = mkdtempSync(join(scratchRoot, "doc-blocks-"));
  try {
    const problems: DocProblem[] = [];
    const placed = place(docs, dir, problems);
    const paths = Object.fromEntries(Object.entries(ENTRY_POINTS).map(([spec, file]) => [spec, [resolve(root, file)]]));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      extends: resolve(root, "tsconfig.json"),
      compilerOptions: { paths, noEmit: true },
      include: placed.map((p) => relative(dir, p.file)),
    }, null, 2));
    if (placed.length === 0) return problems;
    const output = await runTsc(join(dir, "tsconfig.json"), dir);
    const byFile = new Map(placed.map((p) => [resolve(p.file), p.block]));
    for (const line of output.split("\n")) {
      const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line.trim());
      if (!m) {
        if (/error TS/.test(line)) problems.push({ doc: "(tsc)", line: 0, message: line.trim() });
        continue;
      }
      const block = byFile.get(resolve(dir, m[1]!));
      if (block) problems.push({ doc: block.doc, line: block.line + Number(m[2]) - 1, message: m[4]! });
      else problems.push({ doc: relative(root, resolve(dir, m[1]!)), line: Number(m[2]), message: m[4]! });
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
