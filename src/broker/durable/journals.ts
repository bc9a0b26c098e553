import type { ServiceSend, StreamSend } from "../../proto/types.ts";
import { encode } from "../../proto/mod.ts";
import type { JournalEntry, StorageOp } from "../../storage/types.ts";
import type { Conn } from "../model/conn.ts";
import { Consumer, durableKey, sequenceFrame } from "./consumer.ts";
import type { Pattern } from "../pattern.ts";
import { isReady } from "../model/service.ts";
import { ACL_REFUSED, STREAM_SERVICE } from "../status.ts";
import { parseAck, parseCancel, parseRead, type ReadRequest } from "./stream-requests.ts";
import type { BrokerAction, BrokerLimits, LogLevel } from "../types.ts";

const utf8 = new TextEncoder();

/** A journaled stream: its last sequence number and its consumers. */
interface Journal {
  head: number;
  readonly consumers: Set<Consumer>;
}

/** What the journals need from the broker core that owns them. */
export interface JournalHost {
  readonly limits: Readonly<BrokerLimits>;
  /** A delivery to a connection that takes it now (spends credit, counts). */
  deliver(conn: Conn, frames: Uint8Array[]): void;
  /** An answer outside flow control. */
  send(conn: Conn, frames: Uint8Array[]): void;
  read(action: Extract<BrokerAction, { type: "read" }>): void;
  persist(op: StorageOp): void;
  log(level: LogLevel, message: string, fields: Record<string, unknown>): void;
  pattern(source: string): Pattern;
  /** One entry went to a consumer from history. */
  replayed(): void;
  /** The store cannot write: journal entries are not kept. */
  storeFailed(): boolean;
  /** Whether the ACL lets `conn` read `stream` (counted and logged by the host when not). */
  mayRead(conn: Conn, stream: string): boolean;
}

/**
 * The broker's stream journals (docs/mlm-extensions.md §4), as a part of the sans-I/O core:
 * per-stream sequence numbers, the consumers that read them (`malamute.stream` READ, ACK,
 * CANCEL), their catch-up from the store and their switch to live delivery, and durable
 * consumers' positions. The core hands it STREAM-SENDs and `malamute.stream` commands.
 *
 * @example
 * ```ts
 * const journals = new StreamJournals(host, true);
 * journals.append("events", publisher, streamSend); // seq 1, to live consumers
 * ```
 */
export class StreamJournals {
  readonly #host: JournalHost;
  /** Stream messages are journaled (the core has a store, and `journal` is not turned off). */
  readonly enabled: boolean;
  /** Journaled streams by name. */
  readonly #journals = new Map<string, Journal>();
  /** Durable consumers' acknowledged positions, by `durableKey`. */
  readonly #cursors = new Map<string, number>();
  /** The consumer holding each durable name now. */
  readonly #durables = new Map<string, Consumer>();
  /** Journal reads out, by ticket. */
  readonly #reads = new Map<number, Consumer>();
  #ticket = 0;

  constructor(host: JournalHost, enabled: boolean) {
    this.#host = host;
    this.enabled = enabled;
  }

  /** Take over recovered journals and positions (never reusing a number a position went past). */
  restore(
    streams: readonly { name: string; head: number }[],
    cursors: readonly { stream: string; consumer: string; seq: number }[],
  ): void {
    if (!this.enabled) return;
    for (const stream of streams) this.#journals.set(stream.name, { head: stream.head, consumers: new Set() });
    for (const cursor of cursors) {
      this.#cursors.set(durableKey(cursor.stream, cursor.consumer), cursor.seq);
      // A position acknowledged beyond what the journal kept (a torn tail): never reuse those numbers.
      const journal = this.#journals.get(cursor.stream);
      if (journal && journal.head < cursor.seq) journal.head = cursor.seq;
      else if (!journal) this.#journals.set(cursor.stream, { head: cursor.seq, consumers: new Set() });
    }
  }

  /** `conn` can take deliveries again: consumers that fell behind read on. */
  resume(conn: Conn): void {
    if (conn.consumers) for (const consumer of conn.consumers.values()) if (!consumer.live) this.catchUp(consumer);
  }

  /** `conn` is gone, or cancelled its reading of `stream` (every stream when undefined). */
  cancel(conn: Conn, stream?: string): void {
    if (!conn.consumers) return;
    if (stream !== undefined) {
      const consumer = conn.consumers.get(stream);
      if (consumer) this.drop(consumer);
      return;
    }
    for (const consumer of [...conn.consumers.values()]) this.drop(consumer);
  }

  /** Journaled streams: last sequence number and consumers attached. */
  stats(): { name: string; head: number; consumers: number }[] {
    return [...this.#journals].map(([name, j]) => ({ name, head: j.head, consumers: j.consumers.size }));
  }

  /** Number a STREAM-SEND, journal it and hand it to the stream's live consumers. */
  append(name: string, sender: Conn, message: StreamSend): void {
    let journal = this.#journals.get(name);
    if (journal === undefined) {
      if (this.#journals.size >= this.#host.limits.journaledStreams) {
        this.#host.log("warn", "journal limit reached: stream not journaled", { stream: name, limit: this.#host.limits.journaledStreams });
        return;
      }
      journal = { head: 0, consumers: new Set() };
      this.#journals.set(name, journal);
    }
    const seq = ++journal.head;
    if (!this.#host.storeFailed()) {
      this.#host.persist({
        op: "journal",
        entry: { stream: name, seq, time: 0, sender: sender.address, subject: message.subject, content: message.content },
      });
    }
    if (journal.consumers.size === 0) return;
    let frames: Uint8Array[] | undefined;
    for (const consumer of journal.consumers) {
      if (!consumer.live || seq < consumer.next) continue;
      if (seq > consumer.next || !isReady(consumer.conn)) {
        // It missed entries, or cannot take this one now: it reads on from the journal later.
        consumer.live = false;
        this.catchUp(consumer);
        continue;
      }
      consumer.next = seq + 1;
      // Unlike a plain reader, a consumer gets every matching entry, its own too (as a replay would).
      if (!consumer.pattern.matches(message.subject)) continue;
      frames ??= encode({
        type: "STREAM_DELIVER", address: name, sender: sender.address, subject: message.subject,
        content: [sequenceFrame(seq), ...message.content],
      });
      this.#host.deliver(consumer.conn, frames);
    }
  }

  /** A command to `malamute.stream` (its content is the caller's to release). */
  command(conn: Conn, message: ServiceSend): void {
    switch (message.subject) {
      case "READ": {
        const request = parseRead(message.content);
        if (!request.ok) this.#streamAnswer(conn, message, { ok: false, code: "BAD_REQUEST", error: request.error });
        else this.#startConsumer(conn, message, request.value);
        break;
      }
      case "ACK": {
        const request = parseAck(message.content);
        if (request.ok) this.#ack(conn, request.value.stream, request.value.consumer, request.value.seq);
        else this.#host.log("debug", "bad ACK ignored", { conn: conn.key, error: request.error });
        break;
      }
      case "CANCEL": {
        const request = parseCancel(message.content);
        if (!request.ok) {
          this.#streamAnswer(conn, message, { ok: false, code: "BAD_REQUEST", error: request.error });
          break;
        }
        const consumer = conn.consumers?.get(request.value);
        if (consumer) this.drop(consumer);
        this.#streamAnswer(conn, message, { ok: true, stream: request.value });
        break;
      }
      default:
        this.#streamAnswer(conn, message, { ok: false, code: "BAD_REQUEST", error: `unknown command "${message.subject}"` });
    }
  }

  /** Answer a `malamute.stream` command: MAILBOX-DELIVER to the requesting connection, named or not. */
  #streamAnswer(conn: Conn, request: ServiceSend, body: Record<string, unknown>): void {
    this.#host.send(conn, encode({
      type: "MAILBOX_DELIVER", sender: STREAM_SERVICE, address: conn.address, subject: request.subject,
      tracker: request.tracker, content: [utf8.encode(JSON.stringify(body))],
    }));
  }

  #startConsumer(conn: Conn, message: ServiceSend, request: ReadRequest): void {
    if (!this.#host.mayRead(conn, request.stream)) {
      this.#streamAnswer(conn, message, { ok: false, code: "NOT_AUTHORIZED", error: ACL_REFUSED });
      return;
    }
    const journal = this.enabled ? this.#journals.get(request.stream) ?? this.#newJournal(request.stream) : undefined;
    if (journal === undefined) {
      this.#streamAnswer(conn, message, { ok: false, code: "NO_JOURNAL", error: "this broker keeps no journal for the stream" });
      return;
    }
    const previous = conn.consumers?.get(request.stream);
    if (previous) this.drop(previous);
    else if ((conn.consumers?.size ?? 0) >= this.#host.limits.consumersPerConnection) {
      this.#streamAnswer(conn, message, { ok: false, code: "LIMIT", error: "too many consumers on this connection" });
      return;
    }
    const key = request.consumer === undefined ? undefined : durableKey(request.stream, request.consumer);
    const position = key === undefined ? undefined : this.#cursors.get(key);
    if (key !== undefined && position === undefined && this.#cursors.size >= this.#host.limits.durableConsumers) {
      this.#streamAnswer(conn, message, { ok: false, code: "LIMIT", error: "too many durable consumers" });
      return;
    }
    let next: number;
    let fromTime: number | undefined;
    const from = request.from;
    if (position !== undefined) next = position + 1;
    else if (from.kind === "first") next = 1;
    else if (from.kind === "new") next = journal.head + 1;
    else if (from.kind === "seq") next = from.seq;
    else if (from.kind === "last") next = Math.max(1, journal.head - from.count + 1);
    else {
      next = 1;
      fromTime = from.time;
    }
    if (key !== undefined) {
      const holder = this.#durables.get(key);
      if (holder) this.drop(holder);
      if (position === undefined) {
        // Known from now on (a position before the first entry it may get), so a restart resumes here.
        this.#cursors.set(key, next - 1);
        this.#host.persist({ op: "cursor", stream: request.stream, consumer: request.consumer as string, seq: next - 1 });
      }
    }
    const consumer = new Consumer(conn, request.stream, this.#host.pattern(request.pattern), next, request.consumer, fromTime);
    (conn.consumers ??= new Map()).set(request.stream, consumer);
    journal.consumers.add(consumer);
    if (key !== undefined) this.#durables.set(key, consumer);
    this.#streamAnswer(conn, message, { ok: true, stream: request.stream, next: Math.min(next, journal.head + 1), head: journal.head });
    if (next > journal.head && fromTime === undefined) consumer.live = true;
    else this.catchUp(consumer);
  }

  #newJournal(name: string): Journal | undefined {
    if (this.#journals.size >= this.#host.limits.journaledStreams) return undefined;
    const journal: Journal = { head: 0, consumers: new Set() };
    this.#journals.set(name, journal);
    return journal;
  }

  /** Ask the store for the consumer's next entries, if it can take them and no read is out. */
  catchUp(consumer: Consumer): void {
    if (consumer.live || consumer.reading !== 0 || !isReady(consumer.conn) || !consumer.conn.alive) return;
    const ticket = ++this.#ticket;
    consumer.reading = ticket;
    consumer.readHead = (this.#journals.get(consumer.stream) as Journal).head;
    this.#reads.set(ticket, consumer);
    const from = consumer.fromTime !== undefined ? { time: consumer.fromTime } : { seq: consumer.next };
    this.#host.read({
      type: "read", ticket, stream: consumer.stream, from,
      maxEntries: this.#host.limits.replayBatchMessages, maxBytes: this.#host.limits.replayBatchBytes,
    });
  }

  /** Entries read for a consumer: deliver what it may get, then read on or go live. */
  answer(ticket: number, entries: readonly JournalEntry[], error: string | undefined): void {
    const consumer = this.#reads.get(ticket);
    if (consumer === undefined) return;
    this.#reads.delete(ticket);
    consumer.reading = 0;
    if (consumer.conn.consumers?.get(consumer.stream) !== consumer) return;
    const journal = this.#journals.get(consumer.stream) as Journal;
    if (error !== undefined) {
      this.#host.log("warn", "journal read failed: the consumer skips what it covered", { stream: consumer.stream, error });
    }
    if (consumer.fromTime !== undefined) {
      // Nothing at or after the time among what was journaled when the read was asked for: what
      // came since is newer still (a time in the future counts as "new").
      consumer.fromTime = undefined;
      consumer.next = entries.length > 0 ? (entries[0] as JournalEntry).seq : consumer.readHead + 1;
    }
    const conn = consumer.conn;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as JournalEntry;
      if (entry.seq < consumer.next) continue;
      if (!isReady(conn)) return this.#afterRead(consumer, journal, false);
      // Retention may have removed entries it had not got: it continues at the oldest kept.
      consumer.next = entry.seq + 1;
      if (!consumer.pattern.matches(entry.subject)) continue;
      consumer.replayed++;
      this.#host.replayed();
      this.#host.deliver(conn, encode({
        type: "STREAM_DELIVER", address: consumer.stream, sender: entry.sender, subject: entry.subject,
        content: [sequenceFrame(entry.seq), ...entry.content],
      }));
    }
    this.#afterRead(consumer, journal, entries.length === 0 || error !== undefined);
  }

  #afterRead(consumer: Consumer, journal: Journal, exhausted: boolean): void {
    // The store had nothing more up to the head it was asked at (or failed): skip to after that
    // head, never further, since entries journaled while the read was out were not in it.
    if (exhausted && consumer.next <= consumer.readHead) consumer.next = consumer.readHead + 1;
    if (consumer.next > journal.head) {
      consumer.live = true;
      return;
    }
    this.catchUp(consumer);
  }

  /** A durable consumer acknowledged up to `seq`: keep the position (it only moves forward). */
  #ack(conn: Conn, stream: string, name: string, seq: number): void {
    const key = durableKey(stream, name);
    const holder = this.#durables.get(key);
    if (holder === undefined || holder.conn !== conn) return;
    const position = this.#cursors.get(key) ?? 0;
    if (seq <= position) return;
    const limit = Math.min(seq, holder.next - 1);
    if (limit <= position) return;
    this.#cursors.set(key, limit);
    this.#host.persist({ op: "cursor", stream, consumer: name, seq: limit });
  }

  /** End a consumer (its durable position is kept). */
  drop(consumer: Consumer): void {
    const conn = consumer.conn;
    if (conn.consumers?.get(consumer.stream) === consumer) {
      conn.consumers.delete(consumer.stream);
      if (conn.consumers.size === 0) conn.consumers = undefined;
    }
    this.#journals.get(consumer.stream)?.consumers.delete(consumer);
    if (consumer.durable !== undefined) {
      const key = durableKey(consumer.stream, consumer.durable);
      if (this.#durables.get(key) === consumer) this.#durables.delete(key);
    }
    if (consumer.reading !== 0) {
      this.#reads.delete(consumer.reading);
      consumer.reading = 0;
    }
  }
}
