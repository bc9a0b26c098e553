/**
 * A client's birth and death: connect() (bounded by its timeout, failing fast on an
 * unreachable broker or a refused handshake), close() (last acknowledgements, CONNECTION-CLOSE,
 * a short wait for OK) and the release of every timer, socket and waiting caller; plus the
 * socket's connect/error events that decide between them.
 */
import { encode } from "../../proto/mod.ts";
import { TransportError } from "../../transport/errors.ts";
import { describeError } from "../../util/system-code.ts";
import { ZmtpError } from "../../zmtp/errors.ts";
import { asError, MlmError } from "../errors.ts";
import { rejectCommands, writeQuiet } from "../send/outbox.ts";
import type { ClientCore } from "./core.ts";
import { detach, sendOpen } from "./reconnect.ts";

const CLOSE_FRAMES = encode({ type: "CONNECTION_CLOSE" });
/** Upper bound on how long close() waits for the broker's OK. */
const CLOSE_WAIT_MS = 1000;

/** Connect and open the first session: resolves on the broker's OK to CONNECTION-OPEN. */
export function start(core: ClientCore): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    core.connectWaiter = { resolve, reject };
    core.connectTimer = setTimeout(() => {
      core.connectTimer = undefined;
      const last = core.lastAttemptError;
      void failConnect(core, new MlmError(
        "MLM_TIMEOUT",
        `no OK from the broker at ${core.endpoint} within ${core.options.timeout} ms${last ? ` (last attempt: ${describeError(last)})` : ""}`,
        last ? { cause: last } : undefined,
      ));
    }, core.options.timeout);
    try {
      core.dealer.connect(core.endpoint);
    } catch (err) {
      const bad = err instanceof TransportError && err.code === "BAD_ENDPOINT";
      void failConnect(core, new MlmError(bad ? "MLM_BAD_ARGUMENT" : "MLM_NOT_CONNECTED", asError(err).message, { cause: err }));
      return;
    }
    if (core.dealer.connected) sendOpen(core);
  });
}

async function failConnect(core: ClientCore, error: MlmError): Promise<void> {
  const waiter = core.connectWaiter;
  core.connectWaiter = undefined;
  await shutdown(core, error);
  waiter?.reject(error);
}

export async function closeNow(core: ClientCore): Promise<void> {
  if (core.state === "closed") return core.shutdownDone;
  const closed = new MlmError("MLM_CLOSED", "the client is closed");
  const wasOpen = core.state === "open";
  // The last acknowledgements go before CONNECTION-CLOSE (the broker handles them in order).
  if (wasOpen) core.consumers.flushAll();
  core.state = "closing";
  stopTimers(core);
  rejectCommands(core, closed);
  if (wasOpen && core.dealer.connected) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(core.options.timeout, CLOSE_WAIT_MS));
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      core.pending.push({ kind: "close", seq: ++core.seq, done });
      if (!writeQuiet(core, CLOSE_FRAMES)) done();
    });
  }
  await shutdown(core, closed);
}

/** Release everything: timers, socket, waiting callers. */
export function shutdown(core: ClientCore, error: MlmError): Promise<void> {
  if (core.state === "closed") return core.shutdownDone;
  core.state = "closed";
  core.shutdownDone = release(core, error);
  return core.shutdownDone;
}

async function release(core: ClientCore, error: MlmError): Promise<void> {
  stopTimers(core);
  if (core.connectTimer !== undefined) clearTimeout(core.connectTimer);
  core.connectTimer = undefined;
  const closed = error.code === "MLM_CLOSED" ? error : new MlmError("MLM_CLOSED", `the client is closed: ${error.message}`, { cause: error });
  rejectCommands(core, closed);
  core.durable.rejectAll(closed);
  core.consumers.release(closed);
  const dealer = core.dealer;
  detach(core, dealer);
  core.inbox.close(closed);
  core.routes.close(closed);
  core.requests.close(closed);
  core.waiting.close(closed);
  try {
    await Promise.all([dealer.close(), ...core.retired]);
  } finally {
    dealer.off("error", core.onTransportError);
  }
}

function stopTimers(core: ClientCore): void {
  if (core.heartbeatTimer !== undefined) clearInterval(core.heartbeatTimer);
  if (core.retryTimer !== undefined) clearTimeout(core.retryTimer);
  core.heartbeatTimer = undefined;
  core.retryTimer = undefined;
}

// ---------------------------------------------------------------- the socket's events

export function transportConnected(core: ClientCore): void {
  if (core.state === "connecting" || core.state === "down") {
    if (core.openSent) return;
    if (core.retryTimer !== undefined) clearTimeout(core.retryTimer);
    core.retryTimer = undefined;
    sendOpen(core);
  }
}

/** A CURVE server closes without a word on a HELLO it cannot open (RFC 26): a wrong server key. */
function silentRefusal(core: ClientCore, error: ZmtpError): boolean {
  return error.code === "ZMTP_HANDSHAKE_CLOSED" && core.options.curve !== undefined;
}

export function transportError(core: ClientCore, error: Error): void {
  // During connect(), a transport error is a handshake that failed (a wrong CURVE server key,
  // a refused client key or PLAIN credentials, an incompatible peer): the socket does not
  // retry it usefully, so waiting out the connect timeout would only hide why.
  if (core.connectWaiter !== undefined) {
    const curve = core.options.curve !== undefined &&
      error instanceof ZmtpError && (error.isProtocolError || silentRefusal(core, error));
    void failConnect(core, curve
      ? new MlmError("MLM_REFUSED", `the connection to ${core.endpoint} failed its CURVE handshake: ${error.message}`, { cause: error })
      : new MlmError("MLM_UNREACHABLE", `the broker at ${core.endpoint} refused the handshake: ${error.message}`, { cause: error }));
    return;
  }
  core.events.emit("error", error);
}

/** Only while connect() waits: later failed attempts are the reconnect schedule's business. */
export function attemptFailed(core: ClientCore, error: Error): void {
  if (core.connectWaiter === undefined) return;
  core.lastAttemptError = error;
  if (core.options.waitForBroker) return;
  void failConnect(core, new MlmError("MLM_UNREACHABLE", `cannot reach the broker at ${core.endpoint}: ${describeError(error)}`, { cause: error }));
}
