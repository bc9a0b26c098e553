import process from "node:process";
import type { BrokerStats } from "../broker/types.ts";
import { contentBytes } from "../broker/model/message.ts";
import type { BrokerFigures } from "./figures.ts";
import { jobBody } from "./job.ts";
import { type Baseline, baseline, serviceRows } from "./services.ts";

/** Limits of /api/events. */
export interface EventsLimits {
  /** Period of `stats` events, ms. Default 1000. */
  intervalMs: number;
  /** Bytes queued for one slow SSE reader; beyond it events to that reader are skipped (counted, reported in a `dropped` event). Default 1 MiB. */
  bufferBytes: number;
  /** Streams one connection may select with `?streams=`; more: HTTP 400. Default 16. */
  maxStreams: number;
  /** SSE connections at once; more: HTTP 503. Default 64. */
  maxConnections: number;
  /** `clientList` entries in each `stats` event (as the admin STATS answer). Default 1000. */
  maxClients: number;
  /** Quantiles in `stats` events cover about this many intervals. Default 10. */
  windowIntervals: number;
}

export const DEFAULT_EVENTS_LIMITS: EventsLimits = {
  intervalMs: 1000, bufferBytes: 1024 * 1024, maxStreams: 16, maxConnections: 64, maxClients: 1000, windowIntervals: 10,
};

interface Reader {
  readonly streams: ReadonlySet<string>;
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  dropped: number;
}

const utf8 = new TextEncoder();

/**
 * Server-Sent Events of /api/events (format: the `stats` and `job` events agreed with the
 * dashboard): one timer and one stats snapshot per interval for every reader, and the messages
 * of the streams readers select, decoded once. Slow readers get bounded buffers.
 *
 * @example
 * ```ts
 * const hub = new EventsHub(() => broker.stats(), figures);
 * return new Response(hub.open(["forge.events"]), { headers: { "content-type": "text/event-stream" } });
 * ```
 */
export class EventsHub {
  readonly #readers = new Set<Reader>();
  readonly #limits: EventsLimits;
  #timer: ReturnType<typeof setInterval> | undefined = undefined;
  readonly #baselines: Baseline[] = [];
  #closed = false;

  constructor(readonly source: () => BrokerStats, readonly figures: BrokerFigures, limits: Partial<EventsLimits> = {}) {
    this.#limits = { ...DEFAULT_EVENTS_LIMITS, ...limits };
  }

  get limits(): Readonly<EventsLimits> {
    return this.#limits;
  }

  /** Readers connected now. */
  get size(): number {
    return this.#readers.size;
  }

  /** Whether one more reader may connect. */
  get full(): boolean {
    return this.#readers.size >= this.#limits.maxConnections;
  }

  /** A new SSE body: a `stats` event at once, then every interval, and `job` events of `streams`. */
  open(streams: readonly string[]): ReadableStream<Uint8Array> {
    let reader: Reader;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        reader = { streams: new Set(streams), controller, dropped: 0 };
        if (this.#closed) {
          controller.close();
          return;
        }
        this.#readers.add(reader);
        this.#watch();
        this.#write(reader, this.#statsEvent());
        if (this.#timer === undefined) this.#timer = setInterval(this.#tick, this.#limits.intervalMs);
      },
      cancel: () => this.#remove(reader),
    }, { highWaterMark: this.#limits.bufferBytes, size: (chunk) => chunk.byteLength });
  }

  /** End every stream and stop the timer. */
  close(): void {
    this.#closed = true;
    for (const reader of [...this.#readers]) {
      this.#remove(reader);
      try {
        reader.controller.close();
      } catch { /* already cancelled */ }
    }
  }

  #remove(reader: Reader): void {
    if (!this.#readers.delete(reader)) return;
    this.#watch();
    if (this.#readers.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#baselines.length = 0;
    }
  }

  /** Point the broker's observer at the union of the selected streams. */
  #watch(): void {
    const watched = this.figures.watched;
    watched.clear();
    for (const reader of this.#readers) for (const stream of reader.streams) watched.add(stream);
    this.figures.published = watched.size > 0 ? this.#published : undefined;
  }

  #tick = (): void => {
    const event = this.#statsEvent();
    for (const reader of this.#readers) this.#write(reader, event);
  };

  #statsEvent(): Uint8Array {
    const stats = this.source();
    const limits = this.#limits;
    const since = this.#baselines.length >= limits.windowIntervals ? this.#baselines.shift() : this.#baselines[0];
    this.#baselines.push(baseline(this.figures));
    const memory = process.memoryUsage();
    const data = JSON.stringify({
      time: Date.now(),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      stats: { ...stats, clientList: stats.clientList.slice(0, limits.maxClients) },
      services: serviceRows(stats, this.figures, since),
    });
    return utf8.encode(`event: stats\ndata: ${data}\n\n`);
  }

  #published = (stream: string, subject: string, sender: string, content: readonly Uint8Array[]): void => {
    let event: Uint8Array | undefined;
    for (const reader of this.#readers) {
      if (!reader.streams.has(stream)) continue;
      // Decoded now: the content's buffers may be reused once the broker's handler returns.
      event ??= utf8.encode(`event: job\ndata: ${JSON.stringify({
        time: Date.now(), stream, subject, sender, json: jobBody(content[0]), bytes: contentBytes(content),
      })}\n\n`);
      this.#write(reader, event);
    }
  };

  #write(reader: Reader, event: Uint8Array): void {
    const room = reader.controller.desiredSize ?? 0;
    if (room < event.byteLength) {
      reader.dropped++;
      return;
    }
    try {
      if (reader.dropped > 0) {
        reader.controller.enqueue(utf8.encode(`event: dropped\ndata: {"events":${reader.dropped}}\n\n`));
        reader.dropped = 0;
      }
      reader.controller.enqueue(event);
    } catch {
      this.#remove(reader);
    }
  }
}
