// Stream fan-out: matching a STREAM-SEND against the readers' patterns within the per-event
// match budget, deferring what does not fit to later turns (bounded backlog), and buffering
// deliveries for readers without credit.
import { encode } from "../../proto/mod.ts";
import type { Conn } from "../model/conn.ts";
import type { FanOut } from "../model/fanout.ts";
import { contentBytes } from "../model/message.ts";
import type { Selector, Stream } from "../model/stream.ts";
import { askContinue, deliver, log, release } from "./output.ts";
import { COMPILE_COST, type CoreState } from "./state.ts";
import { reclaimStream } from "./streams.ts";

/** A subject as exact patterns see it: up to its first NUL (patterns stop there, as in C). */
function subjectKey(subject: string): string {
  const nul = subject.indexOf("\0");
  return nul < 0 ? subject : subject.slice(0, nul);
}

/**
 * Deliver `fan` to the readers whose patterns match, spending the event's match budget;
 * false when the budget ran out first (the fan-out keeps its place and must be resumed).
 */
export function fanOut(s: CoreState, fan: FanOut): boolean {
  const stream = fan.stream;
  // Matching time grows with the subject: a long one costs more of the budget.
  const cost = 1 + (fan.subject.length >> 5);
  if (fan.cursor === undefined) {
    // Stamps are enough when the fan-out cannot span turns; otherwise other fan-outs would reuse them.
    if (stream.scanned.size * cost + stream.uncompiled * COMPILE_COST + 1 > s.budget) fan.seen = new Set();
    s.budget--;
    const exact = stream.exact.get(subjectKey(fan.subject));
    if (exact) for (const selector of exact) fanOutTo(s, fan, selector);
    fan.cursor = stream.scanned.values();
  }
  const cursor = fan.cursor;
  while (s.budget > 0) {
    const next = cursor.next();
    if (next.done) {
      // Buffered deliveries share the content with each other; those are left to the GC.
      if (!fan.kept) release(s, fan.content);
      return true;
    }
    s.budget -= cost;
    const selector = next.value;
    if ((selector.pattern ?? stream.patternOf(selector, s.chargedPattern)).matches(fan.subject)) {
      fanOutTo(s, fan, selector);
    }
  }
  return false;
}

/** Deliver `fan` to a matching selector's readers (each reader once, never to its sender). */
function fanOutTo(s: CoreState, fan: FanOut, selector: Selector): void {
  const readers = selector.readers;
  for (let i = 0; i < readers.length; i++) {
    const reader = readers[i] as Conn;
    if (reader === fan.sender) continue;
    const seen = fan.seen;
    if (seen) {
      if (seen.has(reader)) continue;
      seen.add(reader);
    } else {
      if (reader.stamp === fan.seq) continue;
      reader.stamp = fan.seq;
    }
    const frames = fan.frames ??= deliverFrames(fan);
    if (reader.creditAware && (reader.credit === 0 || reader.buffer !== undefined || reader.congested)) {
      if (bufferDelivery(s, reader, frames)) fan.kept = true;
    } else if (reader.congested) {
      // As libzmq at SNDHWM: a reader that does not keep up loses stream messages.
      s.counters.dropped++;
      s.counters.droppedCongested++;
    } else deliver(s, reader, frames);
  }
}

/** The STREAM-DELIVER of `fan`: its stream's last header when sender and subject are the same. */
function deliverFrames(fan: FanOut): Uint8Array[] {
  const stream = fan.stream;
  const sender = fan.sender.address;
  let header = stream.deliverHeader;
  if (header === undefined || stream.deliverSubject !== fan.subject || stream.deliverSender !== sender) {
    header = encode({ type: "STREAM_DELIVER", address: stream.name, sender, subject: fan.subject, content: [] })[0]!;
    stream.deliverHeader = header;
    stream.deliverSender = sender;
    stream.deliverSubject = fan.subject;
  }
  const content = fan.content;
  const frames = new Array<Uint8Array>(content.length + 1);
  frames[0] = header;
  for (let i = 0; i < content.length; i++) frames[i + 1] = content[i]!;
  return frames;
}

/** Park a fan-out until a later turn, within the backlog limits (beyond them it is dropped). */
export function defer(s: CoreState, fan: FanOut): void {
  const limits = s.limits;
  // A started fan-out is never dropped half-way (at most one per event is over the limits).
  const full = s.backlog >= limits.streamBacklogMessages || s.backlogBytes + fan.bytes > limits.streamBacklogBytes;
  if (full && fan.cursor === undefined) {
    s.counters.dropped++;
    log(s, "warn", "stream backlog full: message dropped", { stream: fan.stream.name, backlog: s.backlog });
    release(s, fan.content);
    return;
  }
  s.backlog++;
  s.backlogBytes += fan.bytes;
  fan.stream.pending.push(fan);
  s.busyStreams.add(fan.stream);
  askContinue(s);
}

/** Continue waiting fan-outs, one stream after another, until the budget is spent. */
export function resumeFanOuts(s: CoreState): void {
  const busy = s.busyStreams;
  while (s.budget > 0 && busy.size > 0) {
    const stream = busy.values().next().value as Stream;
    busy.delete(stream);
    const pending = stream.pending;
    while (pending.length > 0) {
      const fan = pending[0] as FanOut;
      if (!fanOut(s, fan)) break;
      pending.shift();
      s.backlog--;
      s.backlogBytes -= fan.bytes;
    }
    // Back of the line: streams take turns.
    if (pending.length > 0) busy.add(stream);
    else reclaimStream(s, stream);
  }
  if (busy.size > 0) askContinue(s);
}

/** Hold a delivery for a reader without credit; false when its buffer is full (dropped). */
function bufferDelivery(s: CoreState, reader: Conn, frames: Uint8Array[]): boolean {
  const bytes = contentBytes(frames);
  const limits = s.limits;
  if (reader.buffered >= limits.streamBufferMessages || reader.bufferBytes + bytes > limits.streamBufferBytes) {
    s.counters.dropped++;
    log(s, "debug", "reader buffer full: stream message dropped", { conn: reader.key, address: reader.address });
    return false;
  }
  (reader.buffer ??= []).push(frames);
  reader.bufferBytes += bytes;
  s.counters.queued++;
  return true;
}

/** Deliver a reader's buffered stream messages while it has credit and is not congested. */
export function flushBuffer(s: CoreState, reader: Conn): void {
  const buffer = reader.buffer;
  if (!buffer) return;
  let head = reader.bufferHead;
  while (head < buffer.length && reader.credit > 0 && !reader.congested) {
    const frames = buffer[head] as Uint8Array[];
    buffer[head++] = undefined;
    reader.bufferBytes -= contentBytes(frames);
    deliver(s, reader, frames);
  }
  if (head === buffer.length) {
    reader.buffer = undefined;
    reader.bufferHead = 0;
    reader.bufferBytes = 0;
  } else if (head > 1024 && head * 2 > buffer.length) {
    buffer.splice(0, head);
    reader.bufferHead = 0;
  } else {
    reader.bufferHead = head;
  }
}
