/**
 * The session over time: HELLO + CONNECTION-OPEN on every connection, what an OK to OPEN sets
 * going (credit, replay of every registration and consumer, held sends, heartbeats), how a
 * lost session is noticed (silence, ERROR 500, dropped connection) and re-opened with backoff,
 * on a fresh connection when the old one may still carry stale answers.
 */
import { encode } from "../../proto/mod.ts";
import type { DealerSocket } from "../../transport/types.ts";
import { asError, MlmError } from "../errors.ts";
import { FEATURE_REPLAY, FEATURE_STORED } from "../features.ts";
import { DEFAULT_RECONNECT } from "../options.ts";
import { flushHeld, writeQuiet } from "../send/outbox.ts";
import { type ClientCore, type Command, type HeldSend, now } from "./core.ts";
import { shutdown } from "./lifecycle.ts";

const PING_FRAMES = encode({ type: "CONNECTION_PING" });

/** A socket for the client's endpoint with the client's listeners on it. */
export function newDealer(core: ClientCore): DealerSocket {
  const options = core.options;
  const reconnect = options.reconnect;
  const dealer = core.transport.dealer({
    ...(options.plain ? { plain: options.plain } : {}),
    ...(options.curve ? { curve: options.curve } : {}),
    ...(reconnect ? { reconnectInterval: reconnect.interval, reconnectIntervalMax: reconnect.max } : {}),
  });
  dealer.on("message", core.onMessage);
  dealer.on("connect", core.onTransportConnect);
  dealer.on("disconnect", core.onTransportDisconnect);
  dealer.on("attemptFailed", core.onAttemptFailed);
  dealer.on("error", core.onTransportError);
  return dealer;
}

export function detach(core: ClientCore, dealer: DealerSocket): void {
  dealer.off("message", core.onMessage);
  dealer.off("connect", core.onTransportConnect);
  dealer.off("disconnect", core.onTransportDisconnect);
}

/**
 * Give up the connection for a new one. Used when the session is lost while the connection
 * itself is still up (broker silent, ERROR 500, OPEN unanswered): on the old connection, the
 * answers to what we wrote before (PINGs, a first OPEN) may still come, and a stale ERROR 500
 * would be taken for the answer to the new OPEN. A fresh connection has nothing in flight.
 */
function freshConnection(core: ClientCore): void {
  const old = core.dealer;
  detach(core, old);
  const closing = old.close().catch(() => {}).finally(() => {
    old.off("error", core.onTransportError);
    core.retired.delete(closing);
  });
  core.retired.add(closing);
  core.dealer = newDealer(core);
  try {
    core.dealer.connect(core.endpoint);
  } catch (err) {
    core.events.emit("error", asError(err));
    return;
  }
  if (core.dealer.connected) sendOpen(core);
}

export function sendOpen(core: ClientCore): void {
  if (core.state !== "connecting") core.state = "opening";
  core.openSent = true;
  // HELLO and OPEN back to back: the answers come in order, so the OPEN costs no extra round trip.
  core.pending.push({ kind: "hello", seq: ++core.seq });
  writeQuiet(core, core.helloFrames);
  core.pending.push({ kind: "open", seq: ++core.seq });
  writeQuiet(core, core.openFrames);
  if (core.state === "opening") {
    core.retryTimer = setTimeout(() => {
      core.retryTimer = undefined;
      if (core.state === "opening") lost(core, `no answer to CONNECTION-OPEN within ${core.options.timeout} ms`, false);
    }, core.options.timeout);
  }
}

/** The broker answered OK to CONNECTION-OPEN. */
export function opened(core: ClientCore): void {
  const first = core.state === "connecting";
  core.state = "open";
  core.openSent = false;
  core.lastHeard = core.openedAt = now();
  if (core.retryTimer !== undefined) clearTimeout(core.retryTimer);
  core.retryTimer = undefined;
  if (first) {
    if (core.connectTimer !== undefined) clearTimeout(core.connectTimer);
    core.connectTimer = undefined;
  } else {
    core.stats.reopens++;
  }
  // Credit first, so a replayed SERVICE-OFFER finds the window already open.
  core.credit.sessionOpened();
  const replays = core.registrations.replayable();
  core.replaysLeft = replays.length;
  for (const entry of replays) {
    core.pending.push({ kind: "replay", entry, seq: ++core.seq });
    writeQuiet(core, encode(entry.message));
  }
  // After the plain registrations: consumers read on where they stopped (their answers count
  // as replays too), before any held send.
  core.replaysLeft += core.consumers.sessionOpened(core.features.features.includes(FEATURE_REPLAY));
  if (core.durable.size > 0 && !core.features.features.includes(FEATURE_STORED)) {
    core.durable.rejectAll(new MlmError("MLM_UNSUPPORTED", "the broker of the new session cannot confirm storage (no `stored` feature): durable sends not sent"));
  }
  flushHeld(core);
  startHeartbeat(core);
  if (first) {
    const waiter = core.connectWaiter;
    core.connectWaiter = undefined;
    waiter?.resolve();
  } else if (core.replaysLeft === 0) {
    core.events.emit("connected");
  }
}

function startHeartbeat(core: ClientCore): void {
  if (core.options.heartbeat <= 0 || core.heartbeatTimer !== undefined) return;
  core.heartbeatTimer = setInterval(() => {
    if (core.state !== "open") return;
    const at = now();
    if (core.heard) {
      core.heard = false;
      core.lastHeard = at;
    }
    const silent = at - core.lastHeard;
    if (silent >= core.options.expiry) {
      lost(core, `broker silent for ${Math.round(silent)} ms`, false);
      return;
    }
    ping(core);
  }, core.options.heartbeat);
}

export function ping(core: ClientCore): void {
  if (writeQuiet(core, PING_FRAMES)) core.pingSeqs.push(++core.seq);
}

/**
 * The session is gone. Commands in flight are re-sent after the re-open; the registration
 * set is replayed. `transportDown`: the socket lost its connection and re-opens by itself,
 * so we wait for its "connect"; otherwise we re-open on a fresh connection after backoff.
 */
export function lost(core: ClientCore, reason: string, transportDown: boolean): void {
  const state = core.state;
  if (state === "closing" || state === "closed") return;
  // Back off only while sessions keep failing fast: a broker that accepts OPEN and then
  // forgets us at once must not make us spin.
  if (state === "open" && now() - core.openedAt >= core.options.expiry) core.attempt = 0;
  if (core.retryTimer !== undefined) clearTimeout(core.retryTimer);
  core.retryTimer = undefined;
  if (core.heartbeatTimer !== undefined) clearInterval(core.heartbeatTimer);
  core.heartbeatTimer = undefined;
  const resend: Command[] = [];
  for (const item of core.pending.drain()) if (item.kind === "command" && !item.settled) resend.push(item);
  // Durable sends written on the lost session and not answered go again, before later sends.
  const again: HeldSend[] = [];
  for (const waiter of core.durable.unanswered()) {
    waiter.held = true;
    again.push({ kind: "send", message: waiter.message, frames: encode(waiter.message), at: waiter.at, durable: waiter });
  }
  core.heldSends += again.length;
  core.held = [...resend, ...again, ...core.held];
  core.consumers.sessionLost();
  core.pingSeqs.drain();
  core.openSent = false;
  core.replaysLeft = 0;
  if (state === "connecting") {
    // connect() is still pending: its own timer bounds the wait.
    if (!transportDown) scheduleReopen(core);
    return;
  }
  core.state = "down";
  if (state === "open") core.events.emit("disconnected", reason);
  if (core.options.reconnect === false) {
    void shutdown(core, new MlmError("MLM_NOT_CONNECTED", `session lost and reconnect is off: ${reason}`));
    return;
  }
  if (!transportDown) scheduleReopen(core);
}

function scheduleReopen(core: ClientCore): void {
  const reconnect = core.options.reconnect || DEFAULT_RECONNECT;
  const delay = core.attempt === 0 ? 0 : Math.min(reconnect.max, reconnect.interval * 2 ** (core.attempt - 1));
  core.attempt++;
  core.retryTimer = setTimeout(() => {
    core.retryTimer = undefined;
    if ((core.state === "down" || core.state === "connecting") && !core.openSent) freshConnection(core);
  }, delay);
}
