// The event dispatcher: routes each BrokerEvent, and each decoded MLM command by session
// state (before and after CONNECTION-OPEN), to the module that handles it.
import { decode } from "../../proto/mod.ts";
import type { MlmMessage } from "../../proto/types.ts";
import { HelloFlag } from "../extensions.ts";
import type { Conn } from "../model/conn.ts";
import { ConfirmStatus } from "../status.ts";
import type { BrokerEvent } from "../types.ts";
import { confirmIn, withdraw } from "./confirms.ts";
import { creditIn, deregister, malformed, newConn, openSession, ready, resumeBursts, touch } from "./connections.ts";
import { storageFailed } from "./persistence.ts";
import { expireDue, shutdown } from "./expiry.ts";
import { mailboxSend } from "./mailboxes.ts";
import { log, reply } from "./output.ts";
import { serviceOffer, serviceSend } from "./services.ts";
import type { CoreState } from "./state.ts";
import { resumeFanOuts } from "./stream-delivery.ts";
import { streamCancel, streamRead, streamSend, streamWrite } from "./streams.ts";

/** Handle one event (after the expiries due): the body of {@link BrokerCore.handle}. */
export function dispatchEvent(s: CoreState, event: BrokerEvent): void {
  expireDue(s);
  switch (event.type) {
    case "frames":
      framesIn(s, event.conn, event.frames);
      break;
    case "connect": {
      const conn = s.conns.get(event.conn) ?? newConn(s, event.conn);
      if (conn && event.curveKey !== undefined) {
        conn.curveKey = event.curveKey;
        if (s.acl) conn.acl = s.acl.rulesFor(event.curveKey);
        log(s, "debug", "connection authenticated", { conn: conn.key, curveKey: event.curveKey });
      }
      break;
    }
    case "curve-refused":
      s.counters.curveRefused++;
      log(s, "warn", "CURVE client key refused", { key: event.key, address: event.address });
      break;
    case "disconnect": {
      const conn = s.conns.get(event.conn);
      if (conn) {
        log(s, "debug", "connection closed by peer", { conn: conn.key, address: conn.address });
        deregister(s, conn);
      }
      break;
    }
    case "congested": {
      const conn = s.conns.get(event.conn);
      if (conn) conn.congested = true;
      break;
    }
    case "drained": {
      const conn = s.conns.get(event.conn);
      if (conn?.congested) {
        conn.congested = false;
        ready(s, conn);
      }
      break;
    }
    case "continue":
      resumeBursts(s);
      resumeFanOuts(s);
      break;
    case "tick":
      break;
    case "shutdown":
      shutdown(s);
      break;
    case "journal":
      s.journals.answer(event.ticket, event.entries, event.error);
      break;
    case "storage-failed":
      storageFailed(s, event.reason);
      break;
  }
}

/** Decode a message from `key` (made a connection on first contact) and route it by session state. */
function framesIn(s: CoreState, key: string, frames: Uint8Array[]): void {
  let conn = s.conns.get(key);
  if (conn) touch(s, conn);
  else {
    conn = newConn(s, key);
    if (!conn) return;
  }
  const result = decode(frames);
  if (!result.ok) {
    malformed(s, conn, result.error);
    return;
  }
  const message = result.message;
  s.header = frames[0] as Uint8Array;
  if (!conn.opened) inStart(s, conn, message);
  else inConnected(s, conn, message);
}

/** Before CONNECTION-OPEN: only OPEN, CLOSE and HELLO are valid. */
function inStart(s: CoreState, conn: Conn, message: MlmMessage): void {
  switch (message.type) {
    case "CONNECTION_OPEN":
      openSession(s, conn, message.address);
      return;
    case "CONNECTION_CLOSE":
      // The C broker crashes here; answering and forgetting the context is what its model says.
      reply(s, conn, s.okHeader);
      deregister(s, conn);
      return;
    case "CONFIRM":
      if (message.tracker === "") {
        // HELLO (docs/mlm-extensions.md §1); a repeated one replaces the flags.
        conn.saidHello = true;
        conn.noMailboxConfirms = (message.code & HelloFlag.NO_MAILBOX_CONFIRMS) !== 0;
        conn.storedConfirms = (message.code & HelloFlag.STORED_CONFIRMS) !== 0;
        reply(s, conn, s.helloHeader);
        return;
      }
      reply(s, conn, s.invalidHeader);
      return;
    default:
      reply(s, conn, s.invalidHeader);
  }
}

/** After CONNECTION-OPEN. */
function inConnected(s: CoreState, conn: Conn, message: MlmMessage): void {
  switch (message.type) {
    case "STREAM_SEND":
      streamSend(s, conn, message);
      return;
    case "MAILBOX_SEND":
      mailboxSend(s, conn, message);
      return;
    case "SERVICE_SEND":
      serviceSend(s, conn, message);
      return;
    case "CONNECTION_PING":
      reply(s, conn, s.pongHeader);
      return;
    case "CREDIT":
      creditIn(s, conn, message.amount);
      return;
    case "CONFIRM":
      if (message.code === ConfirmStatus.WITHDRAWN && withdraw(s, conn, message.tracker)) return;
      confirmIn(s, conn, message.tracker, message.code, message.reason, s.header);
      return;
    case "STREAM_WRITE":
      streamWrite(s, conn, message.stream);
      return;
    case "STREAM_READ":
      streamRead(s, conn, message);
      return;
    case "STREAM_CANCEL":
      streamCancel(s, conn, message.stream);
      return;
    case "SERVICE_OFFER":
      serviceOffer(s, conn, message.address, message.pattern);
      return;
    case "CONNECTION_CLOSE":
      reply(s, conn, s.okHeader);
      log(s, "debug", "connection closed", { conn: conn.key, address: conn.address });
      deregister(s, conn);
      return;
    default:
      // A second OPEN, or a message only the broker sends: out of state, session dropped (as C).
      reply(s, conn, s.invalidHeader);
      log(s, "debug", "command invalid in state connected", { conn: conn.key, command: message.type });
      deregister(s, conn);
  }
}
