/**
 * What the broker sends, taken apart: deliveries go to a subscription's route, a journal
 * consumer or the inbox (counted against credit); OK and ERROR go to session/answers.ts; PONGs
 * and CONFIRMs settle what waits for them. This is the receive path of every message, so it
 * is one closure made per client, with no per-message allocation beyond the delivery itself.
 */
import { decode, encode } from "../../proto/mod.ts";
import type { Frames } from "../../transport/types.ts";
import { MlmError } from "../errors.ts";
import { STORED_CODE } from "../features.ts";
import type { ClientCore } from "../session/core.ts";
import { onError, onOk } from "../session/answers.ts";
import { writeQuiet } from "../send/outbox.ts";
import { STREAM_SERVICE } from "../streams/stream-service.ts";
import type { Delivery } from "../types.ts";

/** The socket's "message" listener of a client. */
export function messageHandler(core: ClientCore): (frames: Frames) => void {
  return (frames) => {
    if (core.state === "closed") return;
    core.heard = true;
    const result = decode(frames);
    if (!result.ok) {
      core.stats.malformed++;
      core.events.emit("error", new MlmError("MLM_MALFORMED", `dropped a malformed message from the broker: ${result.error.message}`, { cause: result.error }));
      return;
    }
    const m = result.message;
    switch (m.type) {
      case "STREAM_DELIVER":
        if (core.consumers.routes(m.address)) deliverConsumed(core, m.address, m.sender, m.subject, m.content);
        else deliver(core, { kind: "stream", sender: m.sender, address: m.address, subject: m.subject, tracker: "", content: m.content });
        return;
      case "MAILBOX_DELIVER":
        // An answer to our own READ/CANCEL: the broker sends it outside credit, so it costs none here either.
        if (m.sender === STREAM_SERVICE && core.consumers.answered(m.tracker, m.content[0])) return;
        deliver(core, { kind: "mailbox", sender: m.sender, address: m.address, subject: m.subject, tracker: m.tracker, content: m.content });
        return;
      case "SERVICE_DELIVER":
        deliver(core, { kind: "service", sender: m.sender, address: m.address, subject: m.subject, tracker: m.tracker, content: m.content });
        return;
      case "OK":
        onOk(core, m.reason);
        return;
      case "ERROR":
        onError(core, m.code, m.reason);
        return;
      case "CONNECTION_PONG": {
        const seq = core.pingSeqs.shift();
        if (seq !== undefined && seq > core.answeredSeq) core.answeredSeq = seq;
        return;
      }
      case "CONFIRM":
        // "stored" is for the durable send waiting for it, if any; never for `confirm` listeners.
        if (m.code === STORED_CODE) {
          core.durable.stored(m.tracker);
          return;
        }
        if (
          m.code >= 300 &&
          (core.durable.failed(m.tracker, m.code, m.reason) || core.consumers.confirmFailed(m.tracker, m.code, m.reason) ||
            (core.requests.size > 0 && core.requests.failed(m.tracker, m.code, m.reason)))
        ) return;
        if (core.events.listens("confirm")) core.events.emit("confirm", { tracker: m.tracker, code: m.code, reason: m.reason });
        return;
      default:
        // A client-to-broker message type: not something a broker sends.
        core.stats.malformed++;
    }
  };
}

function deliver(core: ClientCore, delivery: Delivery): void {
  core.stats.received++;
  core.credit.delivered();
  if (core.routes.active && core.routes.claim(delivery)) return;
  core.inbox.push(delivery);
}

/** A STREAM-DELIVER to a journal consumer: the sequence frame comes off and into `seq`. */
function deliverConsumed(core: ClientCore, stream: string, sender: string, subject: string, content: Uint8Array[]): void {
  const result = core.consumers.deliver(stream, content);
  if (result.kind !== "deliver") {
    core.credit.delivered();
    core.credit.consumed();
    if (result.kind === "duplicate") {
      core.stats.duplicateDeliveries++;
      return;
    }
    core.stats.malformed++;
    core.events.emit("error", new MlmError("MLM_MALFORMED", `dropped a delivery of consumer stream ${JSON.stringify(stream)} without its 8-byte sequence frame`));
    return;
  }
  const delivery: Delivery = { kind: "stream", sender, address: stream, subject, tracker: "", content: result.content, seq: result.seq };
  core.consumers.track(delivery);
  deliver(core, delivery);
}

/** A delivery that found no room: counted, refused to its sender where the broker can tell it, reported. */
export function overflow(core: ClientCore, delivery: Delivery, limit = core.options.receiveBuffer, where = "receive buffer"): MlmError {
  core.stats.droppedDeliveries++;
  // Tell the sender through the broker, but only if it supports CONFIRM: C malamute would
  // drop the session for it.
  if (delivery.tracker !== "" && core.canConfirm && !core.confirmsRefused && core.state === "open") {
    writeQuiet(core, encode({ type: "CONFIRM", tracker: delivery.tracker, code: 300, reason: `${where} full` }));
    core.lastConfirmSeq = ++core.seq;
  }
  const error = new MlmError("MLM_BUFFER_FULL", `${where} full (${limit}): dropped a ${delivery.kind} delivery "${delivery.subject}" from "${delivery.sender}"`);
  core.events.emit("error", error);
  return error;
}
