/**
 * The broker's OK and ERROR answers, matched to what we wrote in order (HELLO, OPEN, commands,
 * replays, CLOSE), and what an unmatched ERROR means: a refused CONFIRM (C Malamute), a
 * forgotten session (re-open), or our address taken by a newer client (stop).
 */
import { ADDRESS_TAKEN } from "../../proto/mod.ts";
import { MlmError, statusError } from "../errors.ts";
import { type BrokerFeatures, CLASSIC_BROKER, parseHelloAnswer } from "../features.ts";
import { settle } from "../send/outbox.ts";
import type { ClientCore } from "./core.ts";
import { shutdown } from "./lifecycle.ts";
import { lost, opened, ping } from "./reconnect.ts";

export function onOk(core: ClientCore, reason = ""): void {
  const head = core.pending.shift();
  if (!head) return;
  if (head.seq > core.answeredSeq) core.answeredSeq = head.seq;
  switch (head.kind) {
    case "hello":
      learned(core, parseHelloAnswer(reason));
      return;
    case "open":
      if (core.state === "connecting" || core.state === "opening") opened(core);
      return;
    case "command":
      if (head.entry) core.registrations.confirm(head.entry);
      if (head.entry?.message.type === "STREAM_WRITE") core.producerAccepted = true;
      settle(head);
      return;
    case "replay":
      core.registrations.confirm(head.entry);
      replayAnswered(core);
      return;
    case "close":
      head.done();
      return;
  }
}

export function onError(core: ClientCore, code: number, reason: string): void {
  if (core.state === "closing") {
    onOk(core);
    return;
  }
  const head = core.pending.peek();
  if (head?.kind === "hello") {
    // C malamute: ERROR 500 to a command before OPEN; the connection stays usable.
    core.pending.shift();
    if (head.seq > core.answeredSeq) core.answeredSeq = head.seq;
    learned(core, CLASSIC_BROKER);
    return;
  }
  if (code === 500) {
    if (reason === ADDRESS_TAKEN) {
      displaced(core);
      return;
    }
    // "I don't know you": the broker restarted or expired us. While our OPEN is outstanding
    // this answers something older (a stale PING), so wait for the OPEN's own answer.
    if (head?.kind === "open") return;
    if (core.state === "open") lost(core, `broker does not know this session (ERROR 500${reason ? ` ${reason}` : ""})`, false);
    return;
  }
  // Requests are answered in order, so an ERROR 300 with an unanswered CONFIRM written before
  // the next expected request is that CONFIRM's answer, unless a STREAM-SEND without an
  // accepted producer was written in between (C answers that with ERROR 300 too).
  const sendBlamed = core.lastRiskySendSeq > core.answeredSeq && core.lastRiskySendSeq < core.lastConfirmSeq;
  const confirmRefused = !sendBlamed && core.lastConfirmSeq > core.answeredSeq &&
    (head === undefined || head.kind === "open" || core.lastConfirmSeq < head.seq);
  if (confirmRefused) {
    core.answeredSeq = core.lastConfirmSeq;
    core.confirmsRefused = true;
    core.events.emit(
      "error",
      new MlmError("MLM_FAILED", `broker answered CONFIRM with ERROR ${code}${reason ? ` (${reason})` : ""}: it does not implement confirmations (C malamute); this client sends no more CONFIRMs`, { status: code }),
    );
  } else if (head !== undefined && head.kind !== "open") {
    core.pending.shift();
    if (head.seq > core.answeredSeq) core.answeredSeq = head.seq;
    if (head.kind === "command") {
      if (head.entry) core.registrations.refuse(head.entry);
      settle(head, statusError(code, reason, head.what));
    } else if (head.kind === "replay") {
      core.registrations.forget(head.entry);
      core.events.emit("error", statusError(code, reason, `replaying ${head.entry.message.type}`));
      replayAnswered(core);
    } else {
      head.done();
    }
  } else {
    core.events.emit("error", statusError(code, reason, "unsolicited"));
  }
  // C malamute forgets a client after any ERROR 300: a PING tells (ERROR 500 → re-open).
  if (core.state === "open") ping(core);
}

/**
 * A newer connection opened a session with our address. Re-opening would take it back and
 * the two clients would alternate forever, each getting part of the mail: stop instead.
 */
function displaced(core: ClientCore): void {
  const error = new MlmError(
    "MLM_ADDRESS_TAKEN",
    `another client opened a session with the address ${JSON.stringify(core.address)}: this client is closed and does not take it back (give each client its own address)`,
    { status: 500 },
  );
  if (core.state === "open") core.events.emit("disconnected", error.message);
  core.events.emit("error", error);
  void shutdown(core, error);
}

function learned(core: ClientCore, features: BrokerFeatures): void {
  core.features = features;
  core.canConfirm = features.features.includes("confirm");
}

/** One registration (or consumer) replayed after a re-open was answered; the last one makes it "connected". */
export function replayAnswered(core: ClientCore): void {
  if (--core.replaysLeft === 0 && core.state === "open") core.events.emit("connected");
}
