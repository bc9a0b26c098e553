// Trackers and CONFIRM: routes from a delivery back to its sender, settling held requests,
// WITHDRAW, failure CONFIRMs (parked for recovered senders not back yet) and CONFIRM 202.
import { encode } from "../../proto/mod.ts";
import { exactConfirm } from "../../proto/splice.ts";
import type { MailboxSend, ServiceSend } from "../../proto/types.ts";
import type { Conn } from "../model/conn.ts";
import { StoredMessage } from "../model/message.ts";
import type { Origin } from "../model/routes.ts";
import { ConfirmStatus } from "../status.ts";
import type { BrokerObserver } from "../types.ts";
import { forget } from "./persistence.ts";
import { dropContent, log, release } from "./output.ts";
import { reclaimService, unqueueRequest } from "./services.ts";
import { type CoreState, RECOVERED } from "./state.ts";

/** Remember where the CONFIRM for `tracker` from `recipient` goes (bounded; an evicted held request counts as done). */
export function route(s: CoreState, recipient: Conn, tracker: string, origin: Origin): void {
  const evicted = recipient.confirmRoutes().add(tracker, origin, s.limits.pendingConfirms);
  if (evicted instanceof StoredMessage) settle(s, recipient, evicted);
}

/** A request held in flight by `worker` is done (confirmed, or its route was evicted). */
export function settle(s: CoreState, worker: Conn, request: StoredMessage): void {
  if (!worker.inflight?.delete(request)) return;
  s.held.delete(request);
  worker.inflightBytes -= request.bytes;
  forget(s, request);
  dropContent(s, request);
  const service = s.services.get(request.address);
  if (service) {
    service.inflight--;
    reclaimService(s, service);
  }
}

/** `header`: the CONFIRM as received, forwarded as it is when it holds nothing more. */
export function confirmIn(s: CoreState, conn: Conn, tracker: string, code: number, reason: string, header: Uint8Array): void {
  const origin = conn.routes?.take(tracker);
  if (!origin) {
    log(s, "debug", "CONFIRM for an unknown tracker ignored", { conn: conn.key, tracker });
    return;
  }
  if (origin instanceof StoredMessage) settle(s, conn, origin);
  if (s.observer) observeConfirm(s, origin, code, true);
  if (sendConfirm(s, origin, tracker, code, reason, exactConfirm(header) ? header : undefined)) s.counters.confirmed++;
}

/**
 * WITHDRAW (docs/mlm-extensions.md §2) of the requests `conn` sent with `tracker`: queued ones
 * are removed and confirmed 305, in-flight ones are marked so they are not requeued. False
 * when it names no held request (the CONFIRM is then an ordinary one).
 */
export function withdraw(s: CoreState, conn: Conn, tracker: string): boolean {
  if (tracker === "") return false;
  const found = s.held.find(conn.address, conn.key, tracker);
  if (found.length === 0) return false;
  for (const request of found) {
    const service = s.services.get(request.address);
    if (service && request.queue === service.queue) {
      unqueueRequest(s, service, request);
      withdrawn(s, request);
      reclaimService(s, service);
    } else {
      request.withdrawn = true;
    }
  }
  return true;
}

/** A held request leaves for good because its sender withdrew it. */
export function withdrawn(s: CoreState, request: StoredMessage): void {
  s.held.delete(request);
  s.counters.withdrawn++;
  sendConfirm(s, request, request.tracker, ConfirmStatus.WITHDRAWN, "withdrawn");
  forget(s, request);
  dropContent(s, request);
}

/** `settled`: the CONFIRM came from the worker, so a held request's round trip ends now. */
function observeConfirm(s: CoreState, origin: Origin, code: number, settled: boolean): void {
  const request = origin instanceof StoredMessage && origin.kind === "service" ? origin : undefined;
  const roundTrip = settled && request && request.at >= 0 ? s.now - request.at : undefined;
  (s.observer as BrokerObserver).confirmed(code, request?.address, roundTrip);
}

/** Send CONFIRM to the origin's current connection; false when it is gone. */
function sendConfirm(s: CoreState, origin: Origin, tracker: string, code: number, reason: string, encoded?: Uint8Array): boolean {
  const target = origin.sender !== "" ? s.owners.get(origin.sender) : s.conns.get(origin.senderConn);
  if (!target || !target.opened) return false;
  const frames = encoded ? [encoded] : encode({ type: "CONFIRM", tracker, code, reason });
  s.out.push({ type: "send", conn: target.key, frames });
  return true;
}

/** Refuse or discard a message: count it as dropped and tell a tracked sender. */
export function fail(s: CoreState, origin: Origin, tracker: string, code: number, reason: string): void {
  s.counters.dropped++;
  notify(s, origin, tracker, code, reason);
}

/** Refuse a message `conn` sent: count it, tell a tracked sender, and let go of its content. */
export function refuse(s: CoreState, conn: Conn, message: MailboxSend | ServiceSend, code: number, reason: string): void {
  fail(s, originOf(s, conn), message.tracker, code, reason);
  release(s, message.content);
}

/** Tell the sender of a tracked message that it failed. */
export function notify(s: CoreState, origin: Origin, tracker: string, code: number, reason: string): void {
  if (tracker === "") return;
  s.counters.failed++;
  if (s.observer) observeConfirm(s, origin, code, false);
  if (sendConfirm(s, origin, tracker, code, reason)) return;
  if (origin.senderConn === RECOVERED && origin.sender !== "") park(s, origin.sender, tracker, code, reason);
}

/**
 * Hold a failure CONFIRM for a message recovered from the store (e.g. expired while the broker
 * was down) until its sender's address is back: it could not be connected yet. At most
 * `pendingConfirms` are held in all; beyond that they are dropped.
 */
function park(s: CoreState, address: string, tracker: string, code: number, reason: string): void {
  if (s.parkedCount >= s.limits.pendingConfirms) return;
  s.parkedCount++;
  const list = s.parked.get(address);
  const confirm = encode({ type: "CONFIRM", tracker, code, reason });
  if (list) list.push(confirm);
  else s.parked.set(address, [confirm]);
}

/** CONFIRM 202: `conn` asked to know when the broker has taken its tracked messages (docs/mlm-extensions.md §3). */
export function acknowledge(s: CoreState, conn: Conn, tracker: string): void {
  if (!conn.storedConfirms || tracker === "") return;
  s.out.push({ type: "send", conn: conn.key, frames: encode({ type: "CONFIRM", tracker, code: ConfirmStatus.STORED, reason: "stored" }) });
}

/** The origin of what `conn` sends: one object per connection, since its address is fixed once it is open. */
export function originOf(s: CoreState, conn: Conn): Origin {
  return conn.origin ??= { senderConn: conn.key, sender: conn.address };
}
