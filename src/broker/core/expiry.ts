// Time-driven work: connection expiry, OPEN timeouts and message deadlines, within the
// per-event expiry budget; and the shutdown that fails what was not stored.
import type { StoredMessage } from "../model/message.ts";
import { ConfirmStatus } from "../status.ts";
import { fail, notify } from "./confirms.ts";
import { deregister } from "./connections.ts";
import { forget } from "./persistence.ts";
import { afterMailboxRemoval } from "./mailboxes.ts";
import { askContinue, dropContent, log } from "./output.ts";
import { reclaimService, unqueueRequest } from "./services.ts";
import type { CoreState } from "./state.ts";

/** Emit due log summaries, then expire idle connections, unopened ones and messages past their deadline, within the budget. */
export function expireDue(s: CoreState): void {
  const now = s.now;
  const timeout = s.timeout;
  let conn = s.lruHead;
  for (const { kind, count } of s.logLimiter.due(now)) {
    s.out.push({ type: "log", level: "info", message: `${count} more "${kind}" log lines suppressed`, fields: { kind, count } });
  }
  while (conn && conn.lastActive + timeout <= now) {
    if (!spendExpiry(s)) return;
    s.counters.connectionsExpired++;
    log(s, "info", "connection expired", { conn: conn.key, address: conn.address });
    s.out.push({ type: "disconnect", conn: conn.key, reason: "expired" });
    deregister(s, conn);
    conn = s.lruHead;
  }
  let waiting = s.waitHead;
  while (waiting && waiting.since + s.openTimeout <= now) {
    if (!spendExpiry(s)) return;
    s.counters.openTimeouts++;
    log(s, "info", "connection closed: no CONNECTION-OPEN in time", { conn: waiting.key, limit: s.openTimeout });
    s.out.push({ type: "disconnect", conn: waiting.key, reason: "no CONNECTION-OPEN in time" });
    deregister(s, waiting);
    waiting = s.waitHead;
  }
  let top = s.deadlines.peek();
  while (top && top.deadline <= now) {
    if (!spendExpiry(s)) return;
    s.deadlines.delete(top);
    expireMessage(s, top);
    top = s.deadlines.peek();
  }
}

/** Take one expiry from this event's budget; when it is spent, ask for a later turn instead. */
function spendExpiry(s: CoreState): boolean {
  if (s.expiries > 0) {
    s.expiries--;
    return true;
  }
  askContinue(s);
  return false;
}

/**
 * Whether a stored message is past its deadline, so it must not be delivered: it is expired
 * now, or by a later turn when this event's expiry budget is spent (it is still in the heap).
 */
export function overdue(s: CoreState, message: StoredMessage): boolean {
  if (message.deadline > s.now) return false;
  if (spendExpiry(s)) {
    s.deadlines.delete(message);
    expireMessage(s, message);
  }
  return true;
}

/** A queued message passed its deadline: out of its queue, CONFIRM 301 to a tracked sender. */
function expireMessage(s: CoreState, message: StoredMessage): void {
  if (message.kind === "mailbox") {
    const box = s.mailboxes.get(message.address);
    if (!box || message.queue !== box.queue) return;
    box.queue.remove(message);
    afterMailboxRemoval(s, box);
  } else {
    const service = s.services.get(message.address);
    if (!service || message.queue !== service.queue) return;
    unqueueRequest(s, service, message);
    s.held.delete(message);
    reclaimService(s, service);
  }
  s.counters.expired++;
  notify(s, message, message.tracker, ConfirmStatus.EXPIRED, "expired");
  forget(s, message);
  dropContent(s, message);
}

/** Fail what only memory holds (CONFIRM 304 to tracked senders) and stop handling events. */
export function shutdown(s: CoreState): void {
  const reason = "broker shutting down";
  // Messages in the store are not lost: they are there when the broker starts again.
  const lost = (m: StoredMessage): void => {
    if (m.id === 0) fail(s, m, m.tracker, ConfirmStatus.SHUTDOWN, reason);
  };
  for (const box of s.mailboxes.values()) {
    for (let m = box.queue.head; m; m = m.next) lost(m);
  }
  for (const service of s.services.values()) {
    for (let m = service.queue.head; m; m = m.next) lost(m);
  }
  for (const conn of s.conns.values()) {
    if (conn.inflight) for (const m of conn.inflight) lost(m);
    s.counters.dropped += conn.buffered;
  }
  s.held.clear();
  s.busyStreams.clear();
  s.closed = true;
  log(s, "info", "broker shut down", {});
}
