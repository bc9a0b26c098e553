import type { Conn } from "./conn.ts";
import type { Selector, Stream } from "./stream.ts";

/**
 * One STREAM-SEND being delivered to the readers of its stream. The broker matches at most
 * `matchesPerTurn` patterns per event; a fan-out that needs more keeps its place here (the
 * selectors still to match) and continues on a later turn.
 */
export class FanOut {
  /** The encoded STREAM-DELIVER, made at the first delivery. */
  frames: Uint8Array[] | undefined = undefined;
  /** Where matching stopped; created when matching starts. */
  cursor: Iterator<Selector> | undefined = undefined;
  /** Readers served so far, when the fan-out may span turns (other fan-outs reuse the stamps). */
  seen: Set<Conn> | undefined = undefined;
  /** Some reader buffered the delivery, so the content must not be released. */
  kept = false;

  constructor(
    readonly stream: Stream,
    /** The publisher, which never gets its own message. */
    readonly sender: Conn,
    readonly subject: string,
    readonly content: Uint8Array[],
    /** Content bytes (what the backlog limit counts). */
    readonly bytes: number,
    /** Stamp for at-most-once delivery per reader when the fan-out finishes in one turn. */
    readonly seq: number,
  ) {}
}
