import type { ServiceOffer, StreamRead, StreamWrite } from "../../proto/types.ts";

/** A role command that is replayed after a session is re-opened. */
export type RegistrationMessage = StreamWrite | StreamRead | ServiceOffer;

/** One remembered registration; `confirmed` once the broker answered OK. */
export interface Registration {
  readonly message: RegistrationMessage;
  confirmed: boolean;
}

/**
 * The set of registrations to replay after a re-open (producer, consumers, worker offers).
 *
 * It is a set, not a log: the same consumer twice is one entry, `removeConsumer` deletes the
 * stream's entries, a new producer replaces the old one. Only confirmed entries are replayed;
 * a command still waiting for its answer when the session drops is re-sent by the client
 * itself, so nothing is registered twice.
 */
export class Registrations {
  readonly #entries = new Map<string, Registration>();

  /** Record a command the application just issued; returns the entry to settle later. */
  request(message: RegistrationMessage): Registration {
    const key = keyOf(message);
    const existing = this.#entries.get(key);
    if (existing && (message.type !== "STREAM_WRITE" || sameStream(existing.message, message))) return existing;
    const entry: Registration = { message, confirmed: false };
    // A new producer replaces the old one: delete first so Map order follows the latest call.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  /** The broker accepted the command. Ignored if the entry was removed meanwhile. */
  confirm(entry: Registration): void {
    if (this.#entries.get(keyOf(entry.message)) === entry) entry.confirmed = true;
  }

  /** The broker refused the command: forget it unless an earlier identical one succeeded. */
  refuse(entry: Registration): void {
    const key = keyOf(entry.message);
    if (this.#entries.get(key) === entry && !entry.confirmed) this.#entries.delete(key);
  }

  /** The broker refused a replayed registration: it no longer holds, so stop replaying it. */
  forget(entry: Registration): void {
    const key = keyOf(entry.message);
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
  }

  /** removeConsumer(stream): every pattern of that stream goes. */
  cancelStream(stream: string): void {
    for (const [key, entry] of this.#entries) {
      if (entry.message.type === "STREAM_READ" && entry.message.stream === stream) this.#entries.delete(key);
    }
  }

  /** True when a STREAM-READ of `stream` is registered (confirmed or not). */
  hasStream(stream: string): boolean {
    for (const entry of this.#entries.values()) {
      if (entry.message.type === "STREAM_READ" && entry.message.stream === stream) return true;
    }
    return false;
  }

  /** Confirmed registrations, in the order they were made. */
  replayable(): Registration[] {
    const out: Registration[] = [];
    for (const entry of this.#entries.values()) if (entry.confirmed) out.push(entry);
    return out;
  }

  get size(): number {
    return this.#entries.size;
  }
}

function sameStream(a: RegistrationMessage, b: StreamWrite): boolean {
  return a.type === "STREAM_WRITE" && a.stream === b.stream;
}

function keyOf(message: RegistrationMessage): string {
  switch (message.type) {
    case "STREAM_WRITE":
      return "W";
    case "STREAM_READ":
      return `R\u0000${message.stream}\u0000${message.pattern}`;
    case "SERVICE_OFFER":
      return `O\u0000${message.address}\u0000${message.pattern}`;
  }
}
