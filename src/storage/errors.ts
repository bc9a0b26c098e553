import { MalamuteError } from "../errors.ts";

/**
 * Codes a {@link StorageError} can carry.
 *
 * - `STORAGE_LOCKED`: another store (this process or another) holds the data directory.
 * - `STORAGE_VERSION`: a segment was written in a format version this code does not know; it is
 *   left untouched rather than misread or truncated.
 * - `STORAGE_IO`: the directory cannot be created, read or written (disk full, permissions).
 * - `STORAGE_CONFIG`: an invalid option (a retention pattern that is not a RegExp, a bad size).
 * - `STORAGE_TOO_LARGE`: a record is bigger than `maxRecordBytes` (or a string longer than 65535
 *   bytes); the store refuses it and fails rather than keep a record recovery would reject.
 */
export type StorageErrorCode =
  | "STORAGE_LOCKED"
  | "STORAGE_VERSION"
  | "STORAGE_IO"
  | "STORAGE_CONFIG"
  | "STORAGE_TOO_LARGE";

/**
 * A storage failure: opening a data directory, a write the disk refused, a record too large.
 *
 * @example
 * ```ts
 * try { await new FileStore({ dir: "data" }).open(); } catch (e) {
 *   if (e instanceof StorageError && e.code === "STORAGE_LOCKED") console.error("another broker uses data/");
 * }
 * ```
 */
export class StorageError extends MalamuteError {
  declare readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
