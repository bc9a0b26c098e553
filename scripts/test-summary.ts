// Runs a test command and prints only what needs reading: the details of failures and one summary
// line per runtime (issue 20 item 16; `npm test` used to print ~10,000 lines). The exit code is the
// command's, and a run whose counts show a failure exits non-zero even if the runner said 0.
//
//   tsx scripts/test-summary.ts node -- node --import tsx --test tests/a.test.ts …
//   tsx scripts/test-summary.ts bun  -- bun test --only-failures ./tests
//   tsx scripts/test-summary.ts deno -- deno test -A --quiet --reporter=dot tests/
//   tsx scripts/test-summary.ts jsr  -- deno publish --dry-run --allow-dirty --quiet
//   tsx scripts/test-summary.ts --steps typecheck test:bun test:node   (npm scripts in order, then a recap)
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The runners this script knows how to quieten and count. */
export type RunnerKind = "node" | "bun" | "deno" | "jsr";

/** What a runner's output says about a run. */
export interface Counts { passed: number; failed: number; skipped: number; seconds?: number }

const ANSI = /\u001b\[[0-9;]*m/g;
const plain = (line: string): string => line.replace(ANSI, "");

/**
 * Whether a line of a runner's output is noise on a passing run: progress dots, banners, `(pass)`
 * lines. Failure details, warnings and anything unexpected are kept.
 * @example
 * isNoise("deno", "\u001b[0m\u001b[38;5;245m.\u001b[0m"); // true
 */
export function isNoise(kind: RunnerKind, line: string): boolean {
  const text = plain(line).trimEnd();
  switch (kind) {
    case "node": return /^[.X]+$/.test(text);
    // Their own count lines are noise too: the summary line repeats them.
    case "bun": return /^bun test v/.test(text) || /^\((pass|skip|todo)\)/.test(text)
      || /^\s*\d+ (pass|fail|skip|todo|expect\(\) calls)$/.test(text) || /^Ran \d+ tests? across/.test(text);
    case "deno": return /^[.!,]+$/.test(text) || /^(ok|FAILED) \| \d+ passed/.test(text)
      || /^Stack backtrace:$/.test(text) || /^\s*\d+: <unknown>$/.test(text);
    case "jsr": return false;
  }
}

/**
 * A line filter for a runner's output, fed line by line as it arrives: drops noise lines, file
 * headers with nothing under them (bun prints one per file) and runs of blank lines; returns the
 * lines to print now.
 * @example
 * const keep = lineFilter("deno");
 * [".", ".", "", "", "error: boom"].flatMap(keep); // ["error: boom"]
 */
export function lineFilter(kind: RunnerKind): (line: string) => string[] {
  let pendingHeader: string | undefined;
  let lastBlank = true;
  return (line) => {
    if (isNoise(kind, line)) return [];
    const text = plain(line).trim();
    if (kind === "bun" && /^\S.*\.(test|spec)\.[cm]?[jt]sx?:$/.test(text)) {
      pendingHeader = line; // shown only if something follows it
      return [];
    }
    if (text === "") {
      if (lastBlank) return [];
      lastBlank = true;
      return [line];
    }
    const out = pendingHeader !== undefined ? [pendingHeader, line] : [line];
    pendingHeader = undefined;
    lastBlank = false;
    return out;
  };
}

const num = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);

/**
 * Reads the counts from a runner's summary (node: its TAP footer; bun and deno: their last lines).
 * @example
 * parseCounts("deno", "ok | 3 passed (12 steps) | 0 failed (2s)"); // { passed: 12, failed: 0, skipped: 0, seconds: 2 }
 */
export function parseCounts(kind: RunnerKind, output: string): Counts | undefined {
  const text = plain(output);
  if (kind === "node") {
    if (!/^# tests \d+/m.test(text)) return undefined;
    return {
      passed: num(text, /^# pass (\d+)/m),
      failed: num(text, /^# fail (\d+)/m) + num(text, /^# cancelled (\d+)/m),
      skipped: num(text, /^# skipped (\d+)/m) + num(text, /^# todo (\d+)/m),
      seconds: num(text, /^# duration_ms ([\d.]+)/m) / 1000,
    };
  }
  if (kind === "bun") {
    if (!/^Ran \d+ tests?/m.test(text)) return undefined;
    const time = /^Ran \d+ tests? across \d+ files?\. \[([\d.]+)(m?s)\]/m.exec(text);
    return {
      passed: num(text, /^\s*(\d+) pass$/m),
      failed: num(text, /^\s*(\d+) fail$/m),
      skipped: num(text, /^\s*(\d+) skip$/m) + num(text, /^\s*(\d+) todo$/m),
      ...(time ? { seconds: Number(time[1]) / (time[2] === "ms" ? 1000 : 1) } : {}),
    };
  }
  if (kind === "deno") {
    // e.g. "ok | 296 passed (1866 steps) | 0 failed | 2 ignored (47 steps) (2m17s)"; the time
    // may be "850ms", "12s" or "2m17s".
    const m = /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?.*?\((?:(\d+)m(?!s))?([\d.]+)(m?s)\)/m.exec(text);
    if (!m) return undefined;
    // node:test suites run as Deno tests with steps: the steps are the individual tests.
    return {
      passed: Number(m[2] ?? m[1]),
      failed: Number(m[4] ?? m[3]),
      skipped: Number(m[6] ?? m[5] ?? 0),
      seconds: Number(m[7] ?? 0) * 60 + Number(m[8]) / (m[9] === "ms" ? 1000 : 1),
    };
  }
  return undefined;
}

/**
 * The one-line verdict of a run.
 * @example
 * summaryLine("bun", 0, { passed: 10, failed: 0, skipped: 1, seconds: 3.2 }); // "bun: ok, 10 passed, 0 failed, 1 skipped (3.2 s)"
 */
export function summaryLine(label: string, exitCode: number, counts: Counts | undefined, warnings = 0): string {
  const failed = exitCode !== 0 || (counts?.failed ?? 0) > 0 || warnings > 0;
  const parts = [failed ? `FAILED (exit ${exitCode === 0 ? 1 : exitCode})` : "ok"];
  if (counts) parts.push(`${counts.passed} passed`, `${counts.failed} failed`, `${counts.skipped} skipped`);
  if (warnings) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  const time = counts?.seconds !== undefined ? ` (${counts.seconds.toFixed(1)} s)` : "";
  return `${label}: ${parts.join(", ")}${time}`;
}

interface RunResult { code: number; lines: string[] }

function run(command: string, args: readonly string[], onLine: (line: string) => void, env = process.env): Promise<RunResult> {
  return new Promise((done) => {
    // Without this, a node --test started from inside a node test thinks it is nested and runs nothing.
    const { NODE_TEST_CONTEXT: _nested, ...clean } = env;
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: clean });
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const l of parts) { lines.push(l); onLine(l); }
      });
      stream.on("end", () => { if (rest) { lines.push(rest); onLine(rest); } });
    }
    child.on("error", (error) => { lines.push(String(error)); done({ code: 127, lines }); });
    child.on("close", (code, signal) => done({ code: code ?? (signal ? 128 : 1), lines }));
  });
}

/** Runs one test command (see the file header) and returns the exit code to use. */
export async function runOne(
  kind: RunnerKind, argv: readonly string[], write = (s: string): unknown => process.stdout.write(s), summaryFile?: string,
): Promise<number> {
  const [command, ...args] = argv;
  if (!command) throw new Error("usage: test-summary <node|bun|deno|jsr> -- <command …>");
  let tapDir: string | undefined;
  if (kind === "node") {
    // Dots for people (dropped as noise, failures kept), TAP in a file for the counts.
    tapDir = mkdtempSync(join(tmpdir(), "test-summary-"));
    const at = args.indexOf("--test");
    if (at < 0) throw new Error("the node command must include --test");
    args.splice(at + 1, 0, "--test-reporter=dot", "--test-reporter-destination=stdout",
      "--test-reporter=tap", `--test-reporter-destination=${join(tapDir, "tap.txt")}`);
  }
  const keep = lineFilter(kind);
  const result = await run(command, args, (l) => { for (const k of keep(l)) write(k + "\n"); });
  let counts: Counts | undefined;
  try {
    counts = parseCounts(kind, tapDir ? readFileSync(join(tapDir, "tap.txt"), "utf8") : result.lines.join("\n"));
  } catch {
    counts = undefined;
  } finally {
    if (tapDir) rmSync(tapDir, { recursive: true, force: true });
  }
  if (!counts && kind !== "jsr") {
    // The runner ended without its summary (a crash, a killed process, an error before the
    // tests): its filtered output may not say why, so show the end of what it printed.
    const tail = result.lines.filter((l) => !/^[.,\s]*$/.test(plain(l))).slice(-80);
    write(`── last ${tail.length} lines of ${kind}'s output ──\n${tail.join("\n")}\n`);
  }
  const warnings = kind === "jsr" ? result.lines.filter((l) => /^warning\[/.test(plain(l))).length : 0;
  // A test runner that printed no counts did not run the suite: that is a failure too.
  const code = result.code === 0 && kind !== "jsr" && !counts ? 1 : result.code;
  const line = summaryLine(kind === "jsr" ? "check:jsr" : kind, code, counts, warnings) + (code !== result.code ? " (no test counts in the output)" : "");
  write(line + "\n");
  // The --steps recap reads it (passed explicitly: tests of this script must not write to it).
  if (summaryFile) appendFileSync(summaryFile, line + "\n");
  return /^[\w:]+: ok/.test(line) ? 0 : code || 1;
}

/** Runs npm scripts in order (stopping at the first failure, as `a && b` did) and recaps them. */
export async function runSteps(steps: readonly string[], write = (s: string): unknown => process.stdout.write(s)): Promise<number> {
  mkdirSync(".tmp", { recursive: true });
  const dir = mkdtempSync(join(".tmp", "test-summary-"));
  const recap: string[] = [];
  let code = 0;
  try {
    for (const step of steps) {
      const file = join(dir, `${recap.length}.txt`);
      const started = Date.now();
      write(`── ${step}\n`);
      const result = await run("npm", ["run", "--silent", step], (l) => write(l + "\n"), { ...process.env, TEST_SUMMARY_FILE: file });
      let inner = "";
      try { inner = readFileSync(file, "utf8").trim(); } catch { /* the step has no summary of its own */ }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      recap.push(inner || `${step}: ${result.code === 0 ? "ok" : `FAILED (exit ${result.code})`} (${seconds} s)`);
      if (result.code !== 0) { code = result.code; break; }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const skipped = steps.slice(recap.length).map((s) => `${s}: not run`);
  write(["", "── summary", ...recap, ...skipped, ""].join("\n"));
  return code;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "--steps") return runSteps(argv.slice(1));
  const [kind, dashes, ...command] = argv;
  if (!["node", "bun", "deno", "jsr"].includes(kind ?? "") || dashes !== "--") {
    throw new Error("usage: test-summary <node|bun|deno|jsr> -- <command …> | --steps <npm script …>");
  }
  return runOne(kind as RunnerKind, command, undefined, process.env.TEST_SUMMARY_FILE);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  });
}
