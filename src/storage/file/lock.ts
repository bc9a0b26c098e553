/**
 * The data directory's lock: a `LOCK` file created exclusively, holding the owner's pid. A lock
 * left by a process that is gone (kill -9) is taken over; one held by a live process, or by
 * another store of this process, is refused with `STORAGE_LOCKED`.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { StorageError } from "../errors.ts";

/** Directories locked by stores of this process (a pid cannot tell them apart). */
const held = new Set<string>();

/** File name of the lock in a data directory. */
export const LOCK_FILE = "LOCK";

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false; // ours, but not in `held`: left by an earlier run that had our pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/**
 * Takes the lock of `dir`; returns the function that releases it.
 *
 * @example
 * ```ts
 * const release = lockDirectory("data");
 * try { work(); } finally { release(); }
 * ```
 */
export function lockDirectory(dir: string): () => void {
  const key = resolve(dir);
  if (held.has(key)) throw new StorageError("STORAGE_LOCKED", `${dir} is in use by another store of this process`);
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST" || attempt > 0) {
        if ((e as { code?: string }).code === "EEXIST") throw new StorageError("STORAGE_LOCKED", `${dir} is locked by another process`);
        throw new StorageError("STORAGE_IO", `cannot create ${path}: ${(e as Error).message}`, { cause: e });
      }
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, "utf8").trim());
      } catch { /* vanished or unreadable: try again */ }
      if (alive(pid)) throw new StorageError("STORAGE_LOCKED", `${dir} is locked by process ${pid}`);
      try {
        unlinkSync(path);
      } catch { /* another process took it over first: the next attempt finds out */ }
    }
  }
  held.add(key);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.delete(key);
    try {
      unlinkSync(path);
    } catch { /* the directory is gone or read-only: nothing to release */ }
  };
}
