/**
 * Whether `npm install` would rewrite a project's package-lock.json: re-resolves the lockfile
 * from package.json in a scratch copy (`npm install --package-lock-only --ignore-scripts`, offline
 * first, then online only if a package is missing from the cache) and names the entries that
 * change. Nothing is installed and the project itself is not touched.
 *
 * @example
 * ```ts
 * const drift = lockfileDrift(process.cwd());
 * if (drift.length > 0) throw new Error("package-lock.json is out of sync: " + drift.join(", "));
 * ```
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Lock = { packages?: Record<string, unknown>; [key: string]: unknown };

/** The lockfile entries (`packages` keys, `""` is the root project; or top-level fields) that `npm install` would change. */
export function lockfileDrift(projectDir: string): string[] {
  const scratch = mkdtempSync(join(tmpdir(), "malamute-lock-"));
  try {
    for (const name of ["package.json", "package-lock.json"]) copyFileSync(join(projectDir, name), join(scratch, name));
    const args = ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"];
    const npm = (mode: string) =>
      execFileSync("npm", [...args, mode], { cwd: scratch, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    try {
      npm("--offline");
    } catch {
      // A package absent from the npm cache (ENOTCACHED): resolve against the registry.
      npm("--prefer-offline");
    }
    const before = JSON.parse(readFileSync(join(projectDir, "package-lock.json"), "utf8")) as Lock;
    const after = JSON.parse(readFileSync(join(scratch, "package-lock.json"), "utf8")) as Lock;
    return diffLocks(before, after);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Names of the entries that differ between two lockfiles: `packages` keys (quoted) and other top-level fields. */
export function diffLocks(before: Lock, after: Lock): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key !== "packages" && !same(before[key], after[key])) changed.push(key);
  }
  const a = before.packages ?? {};
  const b = after.packages ?? {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!same(a[key], b[key])) changed.push(`packages[${JSON.stringify(key)}]`);
  }
  return changed;
}
