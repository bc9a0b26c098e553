// Helpers for the storage tests: temp directories, records and entries, stores on a manual clock.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { ManualClock } from "../../src/storage/clock.ts";
import { FileStore, type FileStoreOptions } from "../../src/storage/file/store.ts";
import { MemoryStore } from "../../src/storage/memory-store.ts";
import type { StoreOptions } from "../../src/storage/options.ts";
import type { BrokerStore, JournalEntry, QueuedRecord } from "../../src/storage/types.ts";

export const crc = crc32 as (data: Uint8Array, initial?: number) => number;
export const utf8 = new TextEncoder();
export const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

/** A fresh directory under the OS temp dir; `done()` removes it. */
export function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "mlm-storage-"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export function record(id: number, over: Partial<QueuedRecord> = {}): QueuedRecord {
  return {
    id, kind: "mailbox", sender: "alice", address: "bob", subject: `s${id}`, tracker: `t${id}`, deadline: Infinity,
    content: [utf8.encode(`body ${id}`)], ...over,
  };
}

export function entry(stream: string, seq: number, body = `e${seq}`): JournalEntry {
  return { stream, seq, time: 0, sender: "pub", subject: `sub${seq}`, content: [utf8.encode(body)] };
}

/** The manual clock every store of a test shares (wall = core + 1.7e12). */
export function clock(): ManualClock {
  const c = new ManualClock(1_700_000_000_000);
  c.now = 1000;
  return c;
}

/** A store kind for the shared suite: `make` builds a store; `reopen` gives the "same" store after a restart. */
export interface StoreKind {
  name: string;
  make(options: Omit<StoreOptions, "clock"> & { clock: ManualClock }): { store: BrokerStore; reopen(): BrokerStore; done(): void };
}

export const KINDS: StoreKind[] = [
  {
    name: "MemoryStore",
    make(options) {
      const store = new MemoryStore(options);
      return { store, reopen: () => store, done: () => {} };
    },
  },
  {
    name: "FileStore",
    make(options) {
      const t = tempDir();
      const o: FileStoreOptions = { ...options, dir: t.dir };
      let first: FileStore;
      try {
        first = new FileStore(o);
      } catch (e) {
        t.done();
        throw e;
      }
      const opened: FileStore[] = [first];
      return {
        store: opened[0]!,
        reopen: () => {
          const s = new FileStore(o);
          opened.push(s);
          return s;
        },
        done: () => {
          for (const s of opened) s.crash();
          t.done();
        },
      };
    },
  },
];
