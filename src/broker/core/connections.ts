// Connections and sessions: accepting one (within maxConnections), the activity list that
// expiry walks, the OPEN of an address (and taking it over), credit and readiness, the ACL
// checks, and forgetting a connection with everything it held.
import { Conn } from "../model/conn.ts";
import type { AclRight } from "../security/acl.ts";
import { drainMailbox } from "./mailboxes.ts";
import { log, reply } from "./output.ts";
import { dispatch, requeue } from "./services.ts";
import type { CoreState } from "./state.ts";
import { flushBuffer } from "./stream-delivery.ts";
import { reclaimStream } from "./streams.ts";

const MAX_CREDIT = 0x3fffffff;

/** A new connection, waiting for its OPEN; undefined (and disconnected) beyond `maxConnections`. */
export function newConn(s: CoreState, key: string): Conn | undefined {
  if (s.conns.size >= s.limits.maxConnections) {
    s.counters.connectionsRefused++;
    s.out.push({ type: "disconnect", conn: key, reason: "too many connections" });
    log(s, "warn", "connection refused: limit reached", { conn: key, limit: s.limits.maxConnections });
    return undefined;
  }
  const conn = new Conn(key, s.now);
  if (s.acl) conn.acl = s.acl.rulesFor(undefined);
  s.conns.set(key, conn);
  lruAppend(s, conn);
  conn.waitPrev = s.waitTail;
  if (s.waitTail) s.waitTail.waitNext = conn;
  else s.waitHead = conn;
  s.waitTail = conn;
  return conn;
}

/** `conn` opened or left: it no longer waits for its OPEN. */
function unwait(s: CoreState, conn: Conn): void {
  if (conn.waitPrev) conn.waitPrev.waitNext = conn.waitNext;
  else if (s.waitHead === conn) s.waitHead = conn.waitNext;
  else return;
  if (conn.waitNext) conn.waitNext.waitPrev = conn.waitPrev;
  else s.waitTail = conn.waitPrev;
  conn.waitPrev = conn.waitNext = undefined;
}

/** `conn` was active now: to the back of the expiry list. */
export function touch(s: CoreState, conn: Conn): void {
  if (conn.lastActive === s.now) return;
  conn.lastActive = s.now;
  if (s.lruTail === conn) return;
  lruRemove(s, conn);
  lruAppend(s, conn);
}

function lruAppend(s: CoreState, conn: Conn): void {
  conn.lruPrev = s.lruTail;
  conn.lruNext = undefined;
  if (s.lruTail) s.lruTail.lruNext = conn;
  else s.lruHead = conn;
  s.lruTail = conn;
}

function lruRemove(s: CoreState, conn: Conn): void {
  if (conn.lruPrev) conn.lruPrev.lruNext = conn.lruNext;
  else if (s.lruHead === conn) s.lruHead = conn.lruNext;
  if (conn.lruNext) conn.lruNext.lruPrev = conn.lruPrev;
  else if (s.lruTail === conn) s.lruTail = conn.lruPrev;
  conn.lruPrev = conn.lruNext = undefined;
}

/** Forget a connection: its address, writer, subscriptions, offers; requeue its in-flight requests. */
export function deregister(s: CoreState, conn: Conn): void {
  if (!conn.alive) return;
  conn.alive = false;
  s.conns.delete(conn.key);
  lruRemove(s, conn);
  unwait(s, conn);
  if (conn.address !== "" && s.owners.get(conn.address) === conn) s.owners.delete(conn.address);
  if (conn.writer) {
    conn.writer.writers--;
    reclaimStream(s, conn.writer);
    conn.writer = undefined;
  }
  if (conn.reading) {
    for (const stream of conn.reading) {
      stream.removeReader(conn);
      reclaimStream(s, stream);
    }
    conn.reading = undefined;
    conn.patterns = 0;
  }
  const touched = conn.offering;
  if (touched) for (const service of touched) service.removeWorker(conn);
  conn.offering = undefined;
  const lost = conn.buffered;
  if (lost > 0) {
    s.counters.dropped += lost;
    log(s, "debug", "buffered stream deliveries dropped with their reader", { conn: conn.key, count: lost });
  }
  conn.buffer = undefined;
  conn.routes = undefined;
  s.journals.cancel(conn);
  const inflight = conn.inflight;
  conn.inflight = undefined;
  conn.inflightBytes = 0;
  if (inflight && inflight.size > 0) requeue(s, [...inflight]);
  if (touched) for (const service of touched) dispatch(s, service);
}

/** Count a message that did not decode; beyond `maxMalformed` the connection is dropped. */
export function malformed(s: CoreState, conn: Conn, error: Error): void {
  s.counters.malformed++;
  conn.malformed++;
  if (conn.malformed > s.limits.maxMalformed) {
    s.counters.connectionsRefused++;
    log(s, "warn", "too many malformed messages: disconnecting", {
      conn: conn.key, address: conn.address, count: conn.malformed,
    });
    s.out.push({ type: "disconnect", conn: conn.key, reason: "too many malformed messages" });
    deregister(s, conn);
  } else {
    log(s, "debug", "malformed message dropped", { conn: conn.key, error: error.message });
  }
}

/** True (and counted, logged) when the ACL does not let `conn` use `name` as `right`. */
export function denied(s: CoreState, conn: Conn, right: AclRight, name: string): boolean {
  if (conn.acl.allows(right, name)) return false;
  s.counters.aclRefused++;
  log(s, "warn", "refused by the ACL", { conn: conn.key, key: conn.curveKey, acl: conn.acl.name, right, name });
  return true;
}

/** ERROR 300 `not authorized` unless the ACL lets `conn` use `name` as `right`. */
export function deniedWithError(s: CoreState, conn: Conn, right: AclRight, name: string): boolean {
  if (!denied(s, conn, right, name)) return false;
  reply(s, conn, s.aclRefusedHeader);
  return true;
}

/** CONNECTION-OPEN: take the address (from an older owner too), answer OK, hand over parked CONFIRMs and mail. */
export function openSession(s: CoreState, conn: Conn, address: string): void {
  if (deniedWithError(s, conn, "mailbox", address)) return;
  let displaced: Conn | undefined;
  if (address !== "") {
    displaced = s.owners.get(address);
    if (displaced) {
      log(s, "info", "address taken over by a newer connection", {
        address, previous: displaced.key, conn: conn.key,
      });
      deregister(s, displaced);
    }
    s.owners.set(address, conn);
  }
  conn.opened = true;
  conn.address = address;
  unwait(s, conn);
  reply(s, conn, s.okHeader);
  // Told at once, so it does not go on sending into a session that is gone; an ERROR 500 is
  // what any MLM client expects for that, and the reason tells ours not to take it back.
  if (displaced) reply(s, displaced, s.addressTakenHeader);
  log(s, "debug", "connection opened", conn.curveKey === undefined
    ? { conn: conn.key, address }
    : { conn: conn.key, address, curveKey: conn.curveKey });
  if (address === "") return;
  const parked = s.parked.get(address);
  if (parked) {
    s.parked.delete(address);
    s.parkedCount -= parked.length;
    for (const frames of parked) s.out.push({ type: "send", conn: conn.key, frames });
  }
  drainMailbox(s, conn);
}

/** CREDIT: `conn` is credit-aware from now on and may take `amount` more deliveries. */
export function creditIn(s: CoreState, conn: Conn, amount: number): void {
  conn.creditAware = true;
  conn.credit = Math.min(conn.credit + amount, MAX_CREDIT);
  if (conn.credit === 0) return;
  ready(s, conn);
}

/** `conn` can take deliveries again (credit, or its backlog drained): hand it what waits. */
export function ready(s: CoreState, conn: Conn): void {
  flushBuffer(s, conn);
  s.journals.resume(conn);
  if (conn.address !== "") drainMailbox(s, conn);
  if (conn.offering) for (const service of conn.offering) dispatch(s, service);
}

/** A new turn: the transport has reported congestion for what was sent; resume the connections that spent their burst. */
export function resumeBursts(s: CoreState): void {
  if (s.bursting.length === 0) return;
  for (const conn of s.bursting) {
    conn.burst = 0;
    conn.burstBytes = 0;
    conn.burstFull = false;
  }
  s.bursting.length = 0;
  if (s.stalled.size === 0) return;
  const stalled = [...s.stalled];
  s.stalled.clear();
  for (const conn of stalled) if (conn.alive) ready(s, conn);
}
