import type { Conn } from "../model/conn.ts";
import type { Pattern } from "../pattern.ts";

/**
 * A stream consumer (docs/mlm-extensions.md §4): one connection reading one stream's journal
 * from `next` on. It is `live` once it has caught up: new entries then go to it as they are
 * accepted. Otherwise it reads history from the store, one batch at a time, while its
 * connection can take deliveries, so a slow consumer costs the broker no memory.
 */
export class Consumer {
  /** Caught up: new entries are delivered as they are accepted. */
  live = false;
  /** A journal read for it is out (its ticket), else 0. */
  reading = 0;
  /** The stream's head when its last read was asked for: the read covers at most that far. */
  readHead = 0;
  /** Entries it got from history (for stats). */
  replayed = 0;

  constructor(
    readonly conn: Conn,
    readonly stream: string,
    readonly pattern: Pattern,
    /** Sequence number of the next entry it may get. */
    public next: number,
    /** Name of a durable consumer (its position is kept by the broker), else undefined. */
    readonly durable: string | undefined,
    /** For a `{ time }` start: the wall-clock ms its first read starts at. */
    public fromTime: number | undefined,
  ) {}
}

/** Key of a durable consumer's position: stream and name. */
export function durableKey(stream: string, name: string): string {
  return `${stream}\0${name}`;
}

/** The 8-byte big-endian frame that carries a consumer delivery's sequence number. */
export function sequenceFrame(seq: number): Uint8Array {
  const frame = new Uint8Array(8);
  const view = new DataView(frame.buffer);
  view.setUint32(0, Math.floor(seq / 0x1_0000_0000));
  view.setUint32(4, seq >>> 0);
  return frame;
}
