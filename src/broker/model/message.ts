import type { MessageQueue } from "./queue.ts";

/** What kind of queue a stored message belongs to. */
export type MessageKind = "mailbox" | "service";

/**
 * A mailbox or service message the broker holds: queued, or (for tracked service
 * requests to credit-aware workers) in flight until the worker confirms it.
 * Content frames are the very arrays that arrived; nothing is copied.
 */
export class StoredMessage {
  /** Links for {@link MessageQueue}; owned by the queue. */
  prev: StoredMessage | undefined = undefined;
  next: StoredMessage | undefined = undefined;
  queue: MessageQueue | undefined = undefined;
  /** Position in the deadline heap, -1 when not scheduled. */
  heapIndex = -1;
  /** In the broker's index of withdrawable requests (`HeldRequests`). */
  held = false;
  /**
   * Its key in that index once it is in its map, so that removal hashes a string already
   * hashed instead of building a new one; until then it waits in a list through these links.
   */
  heldKey: string | undefined = undefined;
  heldPrev: StoredMessage | undefined = undefined;
  heldNext: StoredMessage | undefined = undefined;
  /** Withdrawn by its sender while in flight: dropped, not requeued, if its worker leaves. */
  withdrawn = false;
  /** Its record id in the broker's store, 0 when not stored. */
  id = 0;
  /**
   * When it was queued, then when it left for a worker (the core's clock), for the queue-wait
   * and round-trip figures of a `BrokerObserver`; -1 when unknown (recovered from the store).
   */
  at = -1;

  constructor(
    readonly kind: MessageKind,
    /** Connection key of the sender (for CONFIRMs to anonymous senders). */
    readonly senderConn: string,
    /** MLM address of the sender ("" = anonymous). */
    readonly sender: string,
    /** Mailbox address or service name. */
    readonly address: string,
    readonly subject: string,
    readonly tracker: string,
    /** Emptied once the message is delivered for good, so a CONFIRM route holds no payload. */
    public content: Uint8Array[],
    /** Sum of content frame sizes (what the limits count). */
    readonly bytes: number,
    /** Absolute expiry time, `Infinity` for none. */
    readonly deadline: number,
  ) {}
}

/** Shared empty content for delivered messages. */
export const NO_CONTENT: Uint8Array[] = [];

/** Sum of the sizes of `frames`. */
export function contentBytes(frames: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < frames.length; i++) n += (frames[i] as Uint8Array).byteLength;
  return n;
}
