// The stats snapshot (BrokerCore.stats and the admin STATS answer).
import type { BrokerClientStats, BrokerStats } from "../types.ts";
import type { CoreState } from "./state.ts";

/**
 * A snapshot of clients, mailboxes, streams, services and counters. `now` (same clock as
 * `handle`) dates the clients' idle times; default: the time of the last event handled.
 * `maxClients` bounds `clientList`.
 */
export function brokerStats(s: CoreState, now: number = s.now, maxClients = Infinity): BrokerStats {
  let clients = 0;
  const clientList: BrokerClientStats[] = [];
  for (const conn of s.conns.values()) {
    if (conn.opened) clients++;
    if (clientList.length < maxClients) clientList.push(conn.snapshot(now));
  }
  return {
    clients,
    connections: s.conns.size,
    clientList,
    mailboxes: [...s.mailboxes.values()].map((m) => ({
      address: m.address, depth: m.queue.count, bytes: m.queue.bytes,
    })),
    streams: [...s.streams.values()].map((s) => ({ name: s.name, readers: s.readers.size, writers: s.writers })),
    services: [...s.services.values()].map((s) => ({
      name: s.name, workers: s.workers, queued: s.queue.count, bytes: s.queue.bytes, inflight: s.inflight,
    })),
    journals: s.journals.stats(),
    counters: { ...s.counters },
    held: s.held.size,
    ...(s.storage?.describe ? { storage: s.storage.describe() } : {}),
  };
}
