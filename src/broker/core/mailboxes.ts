// Mailboxes: MAILBOX-SEND, delivery to the address owner or its bounded mailbox, and draining
// a mailbox when its owner can take more.
import { encode } from "../../proto/mod.ts";
import type { MailboxSend } from "../../proto/types.ts";
import type { Conn } from "../model/conn.ts";
import { StoredMessage, contentBytes } from "../model/message.ts";
import type { Origin } from "../model/routes.ts";
import { Mailbox, isReady } from "../model/service.ts";
import { ACL_REFUSED, ConfirmStatus, STORE_FULL } from "../status.ts";
import { acknowledge, fail, originOf, refuse, route } from "./confirms.ts";
import { denied } from "./connections.ts";
import { forget, keep, storeFull, unavailable } from "./persistence.ts";
import { overdue } from "./expiry.ts";
import { deliver, dropContent, log, release, spliced } from "./output.ts";
import type { CoreState } from "./state.ts";

/** MAILBOX-SEND: checked (ACL, address, size), then delivered or stored; CONFIRM 202 when taken. */
export function mailboxSend(s: CoreState, conn: Conn, message: MailboxSend): void {
  if (denied(s, conn, "send", message.address)) {
    refuse(s, conn, message, ConfirmStatus.FAILED, ACL_REFUSED);
    return;
  }
  if (message.address === "") {
    refuse(s, conn, message, ConfirmStatus.NO_ROUTE, "no route: empty address");
    return;
  }
  const bytes = contentBytes(message.content);
  if (bytes > s.limits.maxMessageSize) {
    refuse(s, conn, message, ConfirmStatus.LIMIT, "message too large");
    return;
  }
  const taken = mail(
    s, conn.key, conn.address, message.address, message.subject, message.tracker, message.content, bytes,
    message.timeout, originOf(s, conn), conn,
  );
  if (taken) acknowledge(s, conn, message.tracker);
}

/** Deliver to the address owner now if it can take it, else store in its mailbox; false when refused. */
export function mail(
  s: CoreState, senderConn: string, sender: string, address: string, subject: string, tracker: string,
  content: Uint8Array[], bytes: number, timeout: number, from?: Origin, spliceFrom?: Conn,
): boolean {
  const target = s.owners.get(address);
  let box = s.mailboxes.get(address);
  if (target && !box && isReady(target)) {
    deliverMail(s, target, senderConn, sender, subject, tracker, content, from, spliceFrom);
    release(s, content);
    return true;
  }
  const limits = s.limits;
  if (box && (box.queue.count >= limits.mailboxMessages || box.queue.bytes + bytes > limits.mailboxBytes)) {
    if (!box.full) {
      box.full = true;
      log(s, "warn", "mailbox full: refusing messages", {
        address, depth: box.queue.count, bytes: box.queue.bytes, status: ConfirmStatus.LIMIT,
      });
    }
    fail(s, { senderConn, sender }, tracker, ConfirmStatus.LIMIT, "mailbox full");
    release(s, content);
    return false;
  }
  if (!box && bytes > limits.mailboxBytes) {
    fail(s, { senderConn, sender }, tracker, ConfirmStatus.LIMIT, "mailbox full");
    release(s, content);
    return false;
  }
  if (storeFull(s, bytes)) {
    fail(s, { senderConn, sender }, tracker, ConfirmStatus.LIMIT, STORE_FULL);
    release(s, content);
    return false;
  }
  if (s.storeFailed && senderConn !== "") {
    unavailable(s, { senderConn, sender }, tracker);
    release(s, content);
    return false;
  }
  if (!box) {
    box = new Mailbox(address, s.stored);
    s.mailboxes.set(address, box);
  }
  box.full = false;
  const deadline = timeout > 0 ? s.now + timeout : Infinity;
  const stored = new StoredMessage("mailbox", senderConn, sender, address, subject, tracker, content, bytes, deadline);
  box.queue.push(stored);
  if (deadline !== Infinity) s.deadlines.add(stored);
  s.counters.queued++;
  keep(s, stored);
  if (!box.warned && box.queue.bytes > limits.mailboxWarnBytes) {
    box.warned = true;
    log(s, "warn", "mailbox above its size-warn threshold", { address, bytes: box.queue.bytes });
  }
  return true;
}

/** Deliver a mailbox message (spliced from the SEND when it came in this event) and route its CONFIRM. */
function deliverMail(
  s: CoreState, target: Conn, senderConn: string, sender: string, subject: string, tracker: string, content: Uint8Array[],
  origin: Origin | undefined, spliceFrom?: Conn,
): void {
  deliver(s, target, spliceFrom
    ? spliced(s, spliceFrom, content)
    : encode({ type: "MAILBOX_DELIVER", sender, address: target.address, subject, tracker, content }));
  if (tracker !== "" && senderConn !== "" && target.saidHello && !target.noMailboxConfirms) {
    route(s, target, tracker, origin ?? { senderConn, sender });
  }
}

/** Deliver what waits in `conn`'s mailbox while it can take more (expired messages are expired instead). */
export function drainMailbox(s: CoreState, conn: Conn): void {
  const box = s.mailboxes.get(conn.address);
  if (!box) return;
  const queue = box.queue;
  let stored = queue.head;
  while (stored && isReady(conn)) {
    const next = stored.next;
    if (!overdue(s, stored)) {
      queue.remove(stored);
      s.deadlines.delete(stored);
      deliverMail(s, conn, stored.senderConn, stored.sender, stored.subject, stored.tracker, stored.content, stored);
      forget(s, stored);
      dropContent(s, stored);
    }
    stored = next;
  }
  afterMailboxRemoval(s, box);
}

/** A mailbox lost messages: forgotten when empty, its size warning re-armed below half the threshold. */
export function afterMailboxRemoval(s: CoreState, box: Mailbox): void {
  const queue = box.queue;
  if (queue.count === 0) {
    if (s.mailboxes.get(box.address) === box) s.mailboxes.delete(box.address);
    return;
  }
  if (box.warned && queue.bytes <= s.limits.mailboxWarnBytes / 2) box.warned = false;
}
