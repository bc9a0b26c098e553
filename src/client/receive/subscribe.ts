/**
 * Per-subscription iterators (consume, mailbox, requests): a route is put in place before the
 * broker is asked, so no delivery of it can reach the shared inbox; receive/routes.ts then
 * hands each matching delivery to its Subscription.
 */
import { compilePattern } from "../../proto/pattern/mod.ts";
import { badArgument } from "../content.ts";
import { assertOpenForUse } from "../send/outbox.ts";
import type { ClientCore } from "../session/core.ts";
import type { Delivery } from "../types.ts";
import { type RouteOptions, Subscription } from "./routes.ts";

/** Route the deliveries `match` accepts to a new Subscription, then `register` it with the broker. */
export function subscribe(
  core: ClientCore, key: string, match: (delivery: Delivery) => boolean, options: RouteOptions, register: () => Promise<void>,
  stop: () => Promise<void>,
): Subscription {
  assertOpenForUse(core);
  const limit = options.limit ?? core.options.receiveBuffer;
  if (!Number.isInteger(limit) || limit < 1) throw badArgument(`option limit must be an integer >= 1, got ${String(limit)}`);
  if (options.onFull !== undefined && options.onFull !== "drop" && options.onFull !== "throw") {
    throw badArgument(`option onFull must be "drop" or "throw", got ${String(options.onFull)}`);
  }
  // The route exists before the broker is asked, so no delivery of it can reach the inbox.
  const subscription = new Subscription(core.routes, key, match, { limit, onFull: options.onFull ?? "drop" }, stop);
  core.routes.add(subscription);
  let ready: Promise<void>;
  try {
    ready = register();
  } catch (error) {
    ready = Promise.reject(error);
  }
  subscription.started(ready);
  return subscription;
}

/** The deliveries of `stream` whose subject `pattern` matches. */
export function streamMatcher(stream: string, pattern: string): (delivery: Delivery) => boolean {
  const matcher = compilePattern(pattern);
  return (d) => d.kind === "stream" && d.address === stream && matcher.matches(d.subject);
}

/** The requests for `service` whose subject `pattern` matches. */
export function serviceMatcher(service: string, pattern: string): (delivery: Delivery) => boolean {
  const matcher = compilePattern(pattern);
  return (d) => d.kind === "service" && d.address === service && matcher.matches(d.subject);
}
