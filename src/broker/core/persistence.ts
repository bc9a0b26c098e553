// The core's side of durability (design.md §5): the storage ops of each event, keeping and
// forgetting queued messages, taking over a recovered state, and refusing when the store failed.
import type { RecoveredState, StorageOp } from "../../storage/types.ts";
import { StoredMessage, contentBytes } from "../model/message.ts";
import type { Origin } from "../model/routes.ts";
import { Mailbox } from "../model/service.ts";
import { ConfirmStatus } from "../status.ts";
import { fail } from "./confirms.ts";
import { log } from "./output.ts";
import { serviceNamed } from "./services.ts";
import { type CoreState, RECOVERED } from "./state.ts";

/** Whether storing `bytes` more would go beyond what all queues together may hold. */
export function storeFull(s: CoreState, bytes: number): boolean {
  const stored = s.stored;
  return stored.count >= s.limits.storedMessages || stored.bytes + bytes > s.limits.storedBytes;
}

/**
 * Take over what the store recovered: mailbox messages and service requests in the order they
 * were accepted (requests that were in flight at a worker are queued again), stream journals'
 * sequence numbers and durable consumers' positions. Call once, before the first event;
 * deadlines already passed expire (with their CONFIRM 301) at the first event.
 */
export function restoreState(s: CoreState, state: RecoveredState): void {
  if (s.storage === undefined) return;
  if (state.lastId > s.lastId) s.lastId = state.lastId;
  for (const record of state.records) {
    const content = record.content as Uint8Array[];
    const bytes = contentBytes(content);
    const message = new StoredMessage(
      record.kind, RECOVERED, record.sender, record.address, record.subject, record.tracker, content, bytes,
      record.deadline,
    );
    message.id = record.id;
    if (record.kind === "mailbox") {
      let box = s.mailboxes.get(record.address);
      if (!box) {
        box = new Mailbox(record.address, s.stored);
        s.mailboxes.set(record.address, box);
      }
      box.queue.push(message);
    } else {
      serviceNamed(s, record.address).queue.push(message);
      s.held.add(message);
    }
    if (message.deadline !== Infinity) s.deadlines.add(message);
    s.counters.recovered++;
  }
  s.journals.restore(state.streams, state.cursors);
}

/** Append a storage op to this event's `store` action (emitted where the first op was decided). */
export function persist(s: CoreState, op: StorageOp): void {
  let ops = s.ops;
  if (ops === undefined) {
    ops = s.ops = [];
    s.out.push({ type: "store", ops });
  }
  ops.push(op);
}

/** Keep a queued or held message in the store (no-op without one, and for the broker's own answers). */
export function keep(s: CoreState, message: StoredMessage): void {
  if (s.storage === undefined || message.id !== 0 || message.senderConn === "") return;
  if (s.storeFailed) return;
  const id = message.id = ++s.lastId;
  s.counters.stored++;
  persist(s, {
    op: "put",
    record: {
      id, kind: message.kind, sender: message.sender, address: message.address, subject: message.subject,
      tracker: message.tracker, deadline: message.deadline, content: message.content,
    },
  });
}

/** A kept message is done for good. */
export function forget(s: CoreState, message: StoredMessage): void {
  if (message.id === 0) return;
  persist(s, { op: "done", id: message.id });
  message.id = 0;
}

/** Refuse a message because the store cannot write (CONFIRM 306). */
export function unavailable(s: CoreState, origin: Origin, tracker: string): void {
  s.counters.storageRefused++;
  log(s, "warn", "storage unavailable: message refused", { sender: origin.sender, status: ConfirmStatus.UNAVAILABLE });
  fail(s, origin, tracker, ConfirmStatus.UNAVAILABLE, "storage unavailable");
}

/** The store failed: serve from memory, or refuse what needs storing (`onFailure`). */
export function storageFailed(s: CoreState, reason: string): void {
  if (s.storage === undefined) return;
  const memory = s.storage.onFailure === "memory";
  log(s, "error", memory ? "storage failed: serving from memory only, without durability" : "storage failed: refusing messages that need storing", { reason });
  if (!memory) s.storeFailed = true;
}
