/**
 * One segment file: the bytes written to it (`flushed`) and those applied but not yet written
 * (`pending`), read as one sequence so that a journal read sees both.
 */
import { closeSync, fdatasync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ByteWriter } from "../byte-writer.ts";

/**
 * @example
 * ```ts
 * const seg = new SegmentFile("data/queues/00000000000000000001.seg", 0);
 * seg.writer().raw(bytes);
 * seg.write(); // one writeSync
 * ```
 */
export class SegmentFile {
  fd: number | undefined;
  pending: ByteWriter | undefined;
  /** Set once the segment is deleted: its pending bytes are never written. */
  deleted = false;

  constructor(readonly path: string, public flushed: number) {}

  /** Bytes on disk and pending. */
  get size(): number {
    return this.flushed + (this.pending?.length ?? 0);
  }

  /** The buffer appends go to. */
  writer(): ByteWriter {
    return (this.pending ??= new ByteWriter(64 * 1024));
  }

  /** Writes the pending bytes (one write call unless the OS takes less). Throws on a disk error. */
  write(): void {
    const p = this.pending;
    if (p === undefined || p.length === 0 || this.deleted) return;
    if (this.fd === undefined) {
      if (this.flushed === 0) mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, "a+");
    }
    let at = 0;
    while (at < p.length) at += writeSync(this.fd, p.bytes, at, p.length - at);
    this.flushed += p.length;
    p.reset();
  }

  /** Drops the pending buffer (a segment no longer written to). */
  release(): void {
    if (this.pending !== undefined && this.pending.length === 0) this.pending = undefined;
  }

  /** `length` bytes from `offset` (fewer at the end), from disk and the pending buffer. */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(offset + length, this.size);
    const out = new Uint8Array(Math.max(0, end - offset));
    const diskEnd = Math.min(end, this.flushed);
    if (offset < diskEnd) {
      const fd = this.fd ?? openSync(this.path, "r");
      try {
        let at = 0;
        while (at < diskEnd - offset) {
          const n = readSync(fd, out, at, diskEnd - offset - at, offset + at);
          if (n === 0) break;
          at += n;
        }
      } finally {
        if (fd !== this.fd) closeSync(fd);
      }
    }
    if (end > this.flushed && this.pending !== undefined) {
      const from = Math.max(offset, this.flushed);
      out.set(this.pending.bytes.subarray(from - this.flushed, end - this.flushed), from - offset);
    }
    return out;
  }

  /** fdatasync, when the file is open. */
  sync(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  /** Closes and deletes the file (a missing file is fine). */
  remove(): void {
    this.deleted = true;
    this.pending = undefined;
    this.close();
    try {
      unlinkSync(this.path);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
    }
  }
}
