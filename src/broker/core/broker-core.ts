// The public face of the sans-I/O broker core: a thin class over one CoreState, whose work
// is done by the plain functions of this folder (input.ts routes each event).
import type { RecoveredState } from "../../storage/types.ts";
import type {
  BrokerAction, BrokerConfig, BrokerEvent, BrokerLimits, BrokerObserver, BrokerStats,
} from "../types.ts";
import { restoreState } from "./persistence.ts";
import { dispatchEvent } from "./input.ts";
import { log } from "./output.ts";
import { CoreState } from "./state.ts";
import { brokerStats } from "./stats.ts";

/**
 * The Malamute broker as a sans-I/O state machine: feed it events with the current
 * time, execute the actions it returns, and call `handle({ type: "tick" }, now)` at
 * `nextDeadline()`. It reads no clock and touches no socket, so tests drive it with a
 * fake clock and raw MLM frames.
 *
 * Behaviour follows docs/broker.md (C malamute where it works; trackers, CONFIRM,
 * credit, timeouts and requeue as decided in design.md §3).
 *
 * @example
 * ```ts
 * const core = new BrokerCore({ timeout: 10_000 });
 * for (const action of core.handle({ type: "frames", conn: "0011223344", frames }, Date.now())) {
 *   if (action.type === "send") router.send(idOf(action.conn), action.frames);
 * }
 * ```
 */
export class BrokerCore {
  readonly #s: CoreState;

  constructor(config: BrokerConfig = {}) {
    this.#s = new CoreState(config);
  }

  /**
   * Report queue waits, round trips, CONFIRM statuses and the messages of `observer.watched`
   * streams to `observer` from now on (`undefined` stops it). One observer at a time.
   */
  observe(observer: BrokerObserver | undefined): void {
    this.#s.observer = observer;
  }

  /** The limits in force (defaults filled in). */
  get limits(): Readonly<BrokerLimits> {
    return this.#s.limits;
  }

  /** Client expiry in ms (`Infinity` = never). */
  get timeout(): number {
    return this.#s.timeout;
  }

  /**
   * Process one event at time `now` (ms, monotonic) and return what to do, in order.
   * Expiries due at `now` run first. Never throws on bad input.
   */
  handle(event: BrokerEvent, now: number): BrokerAction[] {
    const s = this.#s;
    const out: BrokerAction[] = [];
    s.out = out;
    s.ops = undefined;
    if (s.closed) return out;
    if (now > s.now) s.now = now;
    s.budget = s.matchesPerTurn;
    s.expiries = s.expiriesPerTurn;
    // Cleared before the expiries run, so that they can ask for another turn.
    if (event.type === "continue") s.continueAsked = false;
    try {
      dispatchEvent(s, event);
    } catch (error) {
      // A bug must cost at most this one event, never the broker.
      log(s, "error", "internal error while handling an event", {
        event: event.type, conn: "conn" in event ? event.conn : undefined, error: String(error),
      });
    }
    if (s.released.length > 0) {
      out.push({ type: "release", frames: s.released });
      s.released = [];
    }
    return out;
  }

  /** When the next expiry is due (absolute ms), or undefined if nothing is scheduled. */
  nextDeadline(): number | undefined {
    const s = this.#s;
    let next = Infinity;
    if (s.lruHead && s.timeout !== Infinity) next = s.lruHead.lastActive + s.timeout;
    if (s.waitHead && s.waitHead.since + s.openTimeout < next) next = s.waitHead.since + s.openTimeout;
    const top = s.deadlines.peek();
    if (top && top.deadline < next) next = top.deadline;
    const summary = s.logLimiter.nextDue();
    if (summary !== undefined && summary < next) next = summary;
    return next === Infinity ? undefined : next;
  }

  /**
   * A snapshot of clients, mailboxes, streams, services and counters. `now` (same clock as
   * `handle`) dates the clients' idle times; default: the time of the last event handled.
   * `maxClients` bounds `clientList`.
   */
  stats(now: number = this.#s.now, maxClients = Infinity): BrokerStats {
    return brokerStats(this.#s, now, maxClients);
  }

  /**
   * Take over what the store recovered: mailbox messages and service requests in the order they
   * were accepted (requests that were in flight at a worker are queued again), stream journals'
   * sequence numbers and durable consumers' positions. Call once, before the first event;
   * deadlines already passed expire (with their CONFIRM 301) at the first event.
   */
  restore(state: RecoveredState): void {
    restoreState(this.#s, state);
  }
}
