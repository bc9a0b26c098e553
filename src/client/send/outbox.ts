/**
 * Everything the client writes to the broker: sends (straight to the socket while the session
 * is open, held up to `sendBuffer` while it is down and written after the re-open, with what is
 * left of their timeout), durable sends, role commands (OK/ERROR expected, bounded by
 * `timeout`) and WITHDRAW. This is the send path of every message: plain functions,
 * no allocation per send beyond the message and its frames.
 */
import { encode } from "../../proto/mod.ts";
import type { MailboxSend, MlmMessage, ServiceSend } from "../../proto/mod.ts";
import { TransportError } from "../../transport/errors.ts";
import type { Frames } from "../../transport/types.ts";
import { badArgument, toFrames } from "../content.ts";
import { asError, MlmError } from "../errors.ts";
import { FEATURE_STORED, WITHDRAW_CODE } from "../features.ts";
import { type ClientCore, type Command, now, type Outgoing } from "../session/core.ts";
import type { RegistrationMessage } from "../session/registrations.ts";
import type { ContentInput, DurableSendOptions, SendOptions } from "../types.ts";
import type { DurableWaiter } from "./durable.ts";

export function encodeOrThrow(message: MlmMessage): Frames {
  try {
    return encode(message);
  } catch (err) {
    throw new MlmError("MLM_BAD_ARGUMENT", asError(err).message, { cause: err });
  }
}

export function assertOpenForUse(core: ClientCore): void {
  if (core.state === "closing" || core.state === "closed") throw new MlmError("MLM_CLOSED", "the client is closed");
}

/** Write for the application: failures are thrown as MlmError. */
export function write(core: ClientCore, frames: Frames): void {
  try {
    core.dealer.send(frames);
  } catch (err) {
    if (err instanceof TransportError && err.code === "MESSAGE_TOO_LARGE") {
      throw new MlmError("MLM_BAD_ARGUMENT", err.message, { cause: err });
    }
    if (err instanceof TransportError && err.code === "SEND_QUEUE_FULL") {
      throw new MlmError("MLM_SEND_QUEUE_FULL", `cannot send now: ${err.message}`, { cause: err });
    }
    throw new MlmError("MLM_NOT_CONNECTED", `cannot send: ${asError(err).message}`, { cause: err });
  }
}

/** Write for the client itself (PING, OPEN, CREDIT, replay): failures become "error" events. */
export function writeQuiet(core: ClientCore, frames: Frames): boolean {
  try {
    core.dealer.send(frames);
    return true;
  } catch (err) {
    core.events.emit("error", asError(err));
    return false;
  }
}

// ---------------------------------------------------------------- sends

/** A send now, or held for the next session (up to `sendBuffer`). */
export function post(core: ClientCore, message: Outgoing): void {
  assertOpenForUse(core);
  const frames = encodeOrThrow(message);
  if (core.state === "open") {
    write(core, frames);
    return;
  }
  if (core.heldSends >= core.options.sendBuffer) {
    throw new MlmError("MLM_NOT_CONNECTED", `the session is down and ${core.options.sendBuffer} sends already wait for it`);
  }
  core.held.push({ kind: "send", message, frames, at: now() });
  core.heldSends++;
}

/** MAILBOX-SEND or SERVICE-SEND; a promise for the broker's "stored" when `durable`. */
export function sendAddressed(
  core: ClientCore, type: "MAILBOX_SEND" | "SERVICE_SEND", address: string, subject: string, content: ContentInput,
  options: SendOptions | DurableSendOptions | undefined,
): void | Promise<void> {
  if (options?.durable !== true) {
    post(core, { type, address, subject, tracker: options?.tracker ?? "", timeout: options?.timeout ?? 0, content: toFrames(content) });
    return;
  }
  try {
    return postDurable(core, { type, address, subject, tracker: options.tracker, timeout: options.timeout ?? 0, content: toFrames(content) });
  } catch (err) {
    return Promise.reject(err);
  }
}

function postDurable(core: ClientCore, message: MailboxSend | ServiceSend): Promise<void> {
  const what = `durable ${message.type === "MAILBOX_SEND" ? "sendTo" : "sendFor"}(${JSON.stringify(message.address)})`;
  assertOpenForUse(core);
  if (typeof message.tracker !== "string" || message.tracker === "") throw badArgument(`${what}: a durable send needs a non-empty tracker`);
  if (!core.options.storedConfirms) throw new MlmError("MLM_UNSUPPORTED", `${what}: this client was created with storedConfirms: false`);
  if (!core.features.features.includes(FEATURE_STORED)) {
    throw new MlmError("MLM_UNSUPPORTED", `${what}: the broker cannot confirm storage (no \`stored\` feature; C Malamute?)`);
  }
  if (core.durable.has(message.tracker)) throw badArgument(`${what}: tracker ${JSON.stringify(message.tracker)} already waits for its answer`);
  if (core.durable.size >= core.durable.limit) {
    core.stats.limitRefusals++;
    throw new MlmError("MLM_LIMIT", `${what}: ${core.durable.limit} durable sends already wait for their answer (maxDurableSends)`);
  }
  const frames = encodeOrThrow(message);
  return new Promise<void>((resolve, reject) => {
    const waiter: DurableWaiter = { message, at: now(), held: false, resolve, reject };
    if (core.state === "open") {
      write(core, frames);
      core.durable.add(waiter);
      return;
    }
    if (core.heldSends >= core.options.sendBuffer) {
      throw new MlmError("MLM_NOT_CONNECTED", `the session is down and ${core.options.sendBuffer} sends already wait for it`);
    }
    waiter.held = true;
    core.durable.add(waiter);
    core.held.push({ kind: "send", message, frames, at: waiter.at, durable: waiter });
    core.heldSends++;
  });
}

/** After a re-open: write what was held, in order, dropping sends that expired meanwhile. */
export function flushHeld(core: ClientCore): void {
  const held = core.held;
  core.held = [];
  core.heldSends = 0;
  const at = now();
  for (const item of held) {
    if (item.kind === "command") {
      if (!item.settled) writeCommand(core, item);
      continue;
    }
    const durable = item.durable;
    if (durable !== undefined && !core.durable.waiting(durable)) continue;
    let frames = item.frames;
    const message = item.message;
    if (message.type !== "STREAM_SEND" && message.timeout > 0) {
      const waited = Math.floor(at - item.at);
      if (waited >= message.timeout) {
        core.stats.expiredSends++;
        if (durable !== undefined) core.durable.failed(message.tracker, 301, "expired");
        else if (message.tracker !== "") core.events.emit("confirm", { tracker: message.tracker, code: 301, reason: "expired" });
        continue;
      }
      // The broker counts the timeout from when it receives the message: pass on only what is left.
      if (waited > 0) frames = encode({ ...message, timeout: message.timeout - waited });
    }
    if (durable === undefined) {
      writeQuiet(core, frames);
      continue;
    }
    // Out of the held list either way: if the connection is lost, lost() holds it again.
    durable.held = false;
    try {
      write(core, frames);
    } catch (err) {
      if (!(err instanceof MlmError && err.code === "MLM_NOT_CONNECTED")) core.durable.reject(durable, err as MlmError);
    }
  }
}

// ---------------------------------------------------------------- WITHDRAW

/** Drop a held SERVICE-SEND, or WITHDRAW one the broker holds; false when neither can be done. */
export function withdrawRequest(core: ClientCore, tracker: string): boolean {
  assertOpenForUse(core);
  const held = core.held.findIndex((item) => item.kind === "send" && item.message.type === "SERVICE_SEND" && item.message.tracker === tracker);
  if (held >= 0) {
    const [item] = core.held.splice(held, 1);
    core.heldSends--;
    if (item?.kind === "send" && item.durable) core.durable.failed(tracker, WITHDRAW_CODE, "withdrawn");
    return true;
  }
  if (core.state !== "open" || !core.features.features.includes("withdraw")) return false;
  write(core, encodeOrThrow({ type: "CONFIRM", tracker, code: WITHDRAW_CODE, reason: "" }));
  return true;
}

// ---------------------------------------------------------------- role commands

/** A role command: resolves on OK, rejects on ERROR or after `timeout`; held while the session is down. */
export function command(core: ClientCore, message: RegistrationMessage | MlmMessage, what: string, register: boolean): Promise<void> {
  if (core.state === "closing" || core.state === "closed") {
    return Promise.reject(new MlmError("MLM_CLOSED", `${what}: the client is closed`));
  }
  let frames: Frames;
  try {
    frames = encodeOrThrow(message);
  } catch (err) {
    return Promise.reject(err);
  }
  const entry = register ? core.registrations.request(message as RegistrationMessage) : undefined;
  if (message.type === "STREAM_WRITE") core.producerRequested = true;
  // Cancelled at once, so a replay can never resurrect it, whatever the broker answers.
  if (message.type === "STREAM_CANCEL") core.registrations.cancelStream(message.stream);
  return new Promise<void>((resolve, reject) => {
    const command: Command = { kind: "command", frames, what, entry, resolve, reject, timer: undefined, settled: false, seq: 0 };
    command.timer = setTimeout(() => {
      command.timer = undefined;
      const held = core.held.indexOf(command);
      if (held >= 0) {
        core.held.splice(held, 1);
        if (entry) core.registrations.refuse(entry);
      }
      settle(command, new MlmError("MLM_TIMEOUT", `${what}: no answer from the broker within ${core.options.timeout} ms`));
    }, core.options.timeout);
    if (core.state === "open") writeCommand(core, command);
    else core.held.push(command);
  });
}

function writeCommand(core: ClientCore, command: Command): void {
  command.seq = ++core.seq;
  try {
    write(core, command.frames);
  } catch (err) {
    settle(command, err instanceof MlmError ? err : new MlmError("MLM_NOT_CONNECTED", asError(err).message, { cause: err }));
    return;
  }
  core.pending.push(command);
}

export function settle(command: Command, error?: MlmError): void {
  if (command.settled) return;
  command.settled = true;
  if (command.timer !== undefined) clearTimeout(command.timer);
  command.timer = undefined;
  if (error) command.reject(error);
  else command.resolve();
}

/** Reject every command not answered yet; they stay in `pending` to absorb late replies. */
export function rejectCommands(core: ClientCore, error: MlmError): void {
  for (const item of core.held) if (item.kind === "command") settle(item, error);
  core.held = [];
  core.heldSends = 0;
  for (const item of core.pending.drain()) {
    if (item.kind === "command") settle(item, error);
    core.pending.push(item);
  }
}
