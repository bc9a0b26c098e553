// Services: SERVICE-OFFER, SERVICE-SEND (delivered at once, queued or refused within the
// queue limits), dispatch to ready workers, in-flight requests and their requeue, and the
// admin STATS request.
import { encode } from "../../proto/mod.ts";
import type { ServiceSend } from "../../proto/types.ts";
import type { Conn } from "../model/conn.ts";
import { StoredMessage, contentBytes } from "../model/message.ts";
import { reclaimIfIdle } from "../model/registry.ts";
import { Service } from "../model/service.ts";
import { ACL_REFUSED, ADMIN_SERVICE, ConfirmStatus, STORE_FULL, STREAM_SERVICE } from "../status.ts";
import { acknowledge, fail, notify, originOf, refuse, route, settle, withdrawn } from "./confirms.ts";
import { denied, deniedWithError } from "./connections.ts";
import { forget, keep, storeFull, unavailable } from "./persistence.ts";
import { overdue } from "./expiry.ts";
import { mail } from "./mailboxes.ts";
import { deliver, dropContent, log, release, reply, spliced } from "./output.ts";
import type { CoreState } from "./state.ts";
import { brokerStats } from "./stats.ts";
import { patternRefused } from "./streams.ts";

/** Clients listed in an admin STATS answer, which has to stay one reasonable message. */
const ADMIN_CLIENT_LIST_MAX = 1000;
const utf8 = new TextEncoder();

/** The service called `name`, made on first use. */
export function serviceNamed(s: CoreState, name: string): Service {
  let service = s.services.get(name);
  if (service === undefined) {
    service = new Service(name, s.stored);
    s.services.set(name, service);
  }
  return service;
}

/** Forget `service` once it holds nothing (no offers, queue or in-flight requests). */
export function reclaimService(s: CoreState, service: Service): void {
  reclaimIfIdle(s.services, service);
}

/** SERVICE-OFFER: checked (ACL, offers per connection, pattern), then the worker may get the queued requests. */
export function serviceOffer(s: CoreState, conn: Conn, name: string, source: string): void {
  if (deniedWithError(s, conn, "offer", name)) return;
  if (conn.offers >= s.limits.offersPerConnection) {
    s.counters.subscriptionsRefused++;
    reply(s, conn, s.tooManyOffersHeader);
    log(s, "warn", "SERVICE-OFFER refused: too many offers on one connection", {
      conn: conn.key, address: conn.address, limit: s.limits.offersPerConnection,
    });
    return;
  }
  if (patternRefused(s, conn, "SERVICE-OFFER", source)) return;
  conn.offers++;
  const service = serviceNamed(s, name);
  service.offers.push({ conn, source, pattern: s.pattern(source) });
  (conn.offering ??= new Set()).add(service);
  reply(s, conn, s.okHeader);
  dispatch(s, service);
}

/** SERVICE-SEND: delivered to a ready worker, queued within the limits, or refused with a CONFIRM. */
export function serviceSend(s: CoreState, conn: Conn, message: ServiceSend): void {
  if (denied(s, conn, "request", message.address)) {
    refuse(s, conn, message, ConfirmStatus.FAILED, ACL_REFUSED);
    return;
  }
  if (message.address === ADMIN_SERVICE) {
    adminRequest(s, conn, message);
    return;
  }
  if (message.address === STREAM_SERVICE) {
    s.journals.command(conn, message);
    release(s, message.content);
    return;
  }
  const bytes = contentBytes(message.content);
  if (bytes > s.limits.maxMessageSize) {
    refuse(s, conn, message, ConfirmStatus.LIMIT, "message too large");
    return;
  }
  const service = serviceNamed(s, message.address);
  const deadline = message.timeout > 0 ? s.now + message.timeout : Infinity;
  const index = service.pick(message.subject);
  if (index >= 0) {
    const worker = (service.offers[index] as { conn: Conn }).conn;
    if (message.tracker === "" || !worker.creditAware) {
      // Delivered for good at once: nothing is held, so no StoredMessage is made for it.
      deliverNow(s, service, index, conn, message);
      acknowledge(s, conn, message.tracker);
      return;
    }
  }
  const request = new StoredMessage(
    "service", conn.key, conn.address, message.address, message.subject, message.tracker, message.content, bytes,
    deadline,
  );
  request.at = s.now;
  if (index >= 0) {
    const worker = (service.offers[index] as { conn: Conn }).conn;
    if (s.storeFailed && worker.creditAware && request.tracker !== "") {
      // It would be held in flight, and kept for a requeue after a crash: that needs the store.
      unavailable(s, request, request.tracker);
      dropContent(s, request);
      reclaimService(s, service);
      return;
    }
    deliverRequest(s, service, index, request, conn);
    acknowledge(s, conn, request.tracker);
    return;
  }
  const limits = s.limits;
  const queue = service.queue;
  if (storeFull(s, bytes)) {
    fail(s, request, request.tracker, ConfirmStatus.LIMIT, STORE_FULL);
    dropContent(s, request);
    reclaimService(s, service);
    return;
  }
  if (queue.count >= limits.serviceQueueMessages || queue.bytes + bytes > limits.serviceQueueBytes) {
    if (!service.full) {
      service.full = true;
      log(s, "warn", "service queue full: refusing requests", {
        service: service.name, depth: queue.count, bytes: queue.bytes, status: ConfirmStatus.LIMIT,
      });
    }
    fail(s, request, request.tracker, ConfirmStatus.LIMIT, "service queue full");
    dropContent(s, request);
    reclaimService(s, service);
    return;
  }
  if (s.storeFailed) {
    unavailable(s, request, request.tracker);
    dropContent(s, request);
    reclaimService(s, service);
    return;
  }
  service.full = false;
  queue.push(request);
  s.held.add(request);
  if (deadline !== Infinity) s.deadlines.add(request);
  s.counters.queued++;
  keep(s, request);
  acknowledge(s, conn, request.tracker);
  if (!service.warned && queue.bytes > limits.serviceQueueWarnBytes) {
    service.warned = true;
    log(s, "warn", "service queue above its size-warn threshold", { service: service.name, bytes: queue.bytes });
  }
}

/** As {@link deliverRequest} for a request just received and not held (untracked, or for a C worker). */
function deliverNow(s: CoreState, service: Service, index: number, conn: Conn, message: ServiceSend): void {
  const worker = service.offers[index]?.conn as Conn;
  service.rotate(index);
  s.observer?.dispatched(service.name, 0);
  deliver(s, worker, spliced(s, conn, message.content));
  release(s, message.content);
  // A route is kept so that a worker that said HELLO can still CONFIRM to the requester.
  if (message.tracker !== "" && worker.saidHello) route(s, worker, message.tracker, originOf(s, conn));
}

/** `spliceFrom`: the request is the SERVICE-SEND this connection sent in this event. */
function deliverRequest(s: CoreState, service: Service, index: number, request: StoredMessage, spliceFrom?: Conn): void {
  const worker = service.offers[index]?.conn as Conn;
  service.rotate(index);
  s.observer?.dispatched(service.name, request.at >= 0 ? s.now - request.at : -1);
  request.at = s.now;
  // Kept before it leaves: under fsync `always`, nothing is delivered before it is on disk.
  if (request.tracker !== "" && worker.creditAware) keep(s, request);
  deliver(s, worker, spliceFrom ? spliced(s, spliceFrom, request.content) : encode({
    type: "SERVICE_DELIVER", sender: request.sender, address: request.address, subject: request.subject,
    tracker: request.tracker, content: request.content,
  }));
  if (request.tracker === "" || !worker.creditAware) {
    // Delivered for good (C workers never confirm); a worker that said HELLO gets a route so
    // that its CONFIRM still reaches the requester.
    s.held.delete(request);
    forget(s, request);
    dropContent(s, request);
    if (request.tracker !== "" && worker.saidHello) route(s, worker, request.tracker, request);
    return;
  }
  // Held until the worker confirms; requeued if it leaves first (or after a crash: it is kept).
  (worker.inflight ??= new Set()).add(request);
  s.held.add(request);
  worker.inflightBytes += request.bytes;
  service.inflight++;
  route(s, worker, request.tracker, request);
  if (worker.inflightBytes > s.limits.inflightBytes) {
    if (worker.inflight.size > 1) {
      log(s, "debug", "worker holds too many unconfirmed requests: the oldest count as done", {
        conn: worker.key, address: worker.address, bytes: worker.inflightBytes,
      });
    }
    for (const oldest of worker.inflight) {
      if (worker.inflightBytes <= s.limits.inflightBytes) break;
      settle(s, worker, oldest);
    }
  }
}

/** Hand queued requests to ready workers, oldest first. */
export function dispatch(s: CoreState, service: Service): void {
  if (service.offers.length > 0) {
    let request = service.queue.head;
    while (request) {
      const next = request.next;
      if (overdue(s, request)) {
        request = next;
        continue;
      }
      const index = service.pick(request.subject);
      if (index >= 0) {
        unqueueRequest(s, service, request);
        deliverRequest(s, service, index, request);
      } else if (!service.anyReady()) break;
      request = next;
    }
  }
  reclaimService(s, service);
}

/** Take a queued request out of its queue and the deadline heap. */
export function unqueueRequest(s: CoreState, service: Service, request: StoredMessage): void {
  service.queue.remove(request);
  s.deadlines.delete(request);
  if (service.warned && service.queue.bytes <= s.limits.serviceQueueWarnBytes / 2) service.warned = false;
}

/** Put in-flight requests (in delivery order) back at the head of their queues. */
export function requeue(s: CoreState, requests: StoredMessage[]): void {
  const services = new Set<Service>();
  for (let i = requests.length - 1; i >= 0; i--) {
    const request = requests[i] as StoredMessage;
    const service = serviceNamed(s, request.address);
    service.inflight--;
    if (request.withdrawn) {
      withdrawn(s, request);
      services.add(service);
      continue;
    }
    if (request.deadline <= s.now) {
      s.held.delete(request);
      s.counters.expired++;
      notify(s, request, request.tracker, ConfirmStatus.EXPIRED, "expired");
      forget(s, request);
      dropContent(s, request);
      services.add(service);
      continue;
    }
    service.queue.unshift(request);
    if (request.deadline !== Infinity) s.deadlines.add(request);
    s.counters.requeued++;
    services.add(service);
  }
  for (const service of services) dispatch(s, service);
}

/** A request to the admin service: STATS answers to the requester's mailbox. */
function adminRequest(s: CoreState, conn: Conn, message: ServiceSend): void {
  if (message.subject !== "STATS") {
    refuse(s, conn, message, ConfirmStatus.FAILED, "unknown admin command");
    return;
  }
  if (conn.address === "") {
    refuse(s, conn, message, ConfirmStatus.NO_ROUTE, "no route: anonymous requester");
    return;
  }
  release(s, message.content);
  const body = utf8.encode(JSON.stringify(brokerStats(s, s.now, ADMIN_CLIENT_LIST_MAX)));
  mail(s, "", ADMIN_SERVICE, conn.address, message.subject, message.tracker, [body], body.byteLength, 0);
}
