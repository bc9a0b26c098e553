import { ADMIN_SERVICE } from "../../broker/status.ts";
import type { BrokerStats } from "../../broker/types.ts";
import type { MlmClient } from "../../client/client.ts";
import type { BrokerFeatures } from "../../client/features.ts";
import type { Confirmation, Delivery } from "../../client/types.ts";
import type { StorageStats } from "../../storage/types.ts";
import type { StatFlags } from "../commands/stat.ts";
import type { ClientFlags } from "../options.ts";
import { connectClient, replyAddress } from "../connect.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { formatTable } from "../format.ts";

/**
 * `malamute stat`: ask the broker's admin service (`malamute.admin`, subject `STATS`) and print
 * its answer as tables or JSON. Loaded only when the command runs.
 *
 * @example
 * ```ts
 * context.exitCode = await runStat({ ...clientFlags, wait: 5000 }, context);
 * ```
 */
export async function runStat(flags: StatFlags, context: CommandContext): Promise<number> {
  const client = await connectClient(flags, { address: replyAddress("stat") });
  let stats: unknown;
  try {
    stats = await askStats(client, flags.wait);
  } finally {
    await client.close();
  }
  context.io.stdout(flags.json ? JSON.stringify(stats, null, 2) + "\n" : formatStats(stats as BrokerStats));
  return ExitCode.ok;
}

/**
 * Asks the broker's admin service for STATS and waits up to `waitMs` for the answer.
 *
 * @example
 * ```ts
 * const stats = await askStats(client, 1000) as BrokerStats;
 * ```
 */
export async function askStats(client: MlmClient, waitMs: number): Promise<unknown> {
  const tracker = replyAddress("stats");
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new CliError("CLI_TIMEOUT", `the broker did not answer STATS within ${waitMs} ms`, {
    hint: statsTimeoutHint(client.brokerFeatures),
  })), waitMs);
  const onConfirm = (confirmation: Confirmation) => {
    if (confirmation.tracker === tracker && confirmation.code >= 300) {
      abort.abort(new CliError("CLI_FAILED", `the broker refused STATS: ${confirmation.code} ${confirmation.reason}`));
    }
  };
  client.on("confirm", onConfirm);
  try {
    client.sendFor(ADMIN_SERVICE, "STATS", [], { tracker });
    for (;;) {
      let delivery: Delivery;
      try {
        delivery = await client.receive({ signal: abort.signal });
      } catch (error) {
        throw abort.signal.aborted ? abort.signal.reason : error;
      }
      if (delivery.sender !== ADMIN_SERVICE || delivery.tracker !== tracker) continue;
      try {
        return JSON.parse(new TextDecoder().decode(delivery.content[0] ?? new Uint8Array()));
      } catch (cause) {
        throw new CliError("CLI_FAILED", "the broker's STATS answer is not JSON", { cause });
      }
    }
  } finally {
    clearTimeout(timer);
    client.off("confirm", onConfirm);
  }
}

/**
 * Why STATS may have gone unanswered, from what the broker said of itself in answer to HELLO:
 * only a classic (C) broker lacks the admin service; ours was merely slower than --wait.
 *
 * @example
 * ```ts
 * statsTimeoutHint(client.brokerFeatures); // "the broker has an admin service but answered later than --wait: raise --wait"
 * ```
 */
export function statsTimeoutHint(features: BrokerFeatures): string {
  return features.extended
    ? "the broker has an admin service but answered later than --wait: raise --wait"
    : "this broker speaks classic MLM (a C malamute broker?), which has no admin service; this needs the TypeScript broker (`malamute broker`)";
}

/**
 * The STATS answer as tables: a summary line, then clients, mailboxes, streams, services and
 * counters. Sections with nothing in them say so rather than vanish (the clients section is
 * left out for a broker that does not list clients).
 *
 * @example
 * ```ts
 * process.stdout.write(formatStats(broker.stats()));
 * ```
 */
export function formatStats(stats: BrokerStats): string {
  const out: string[] = [];
  out.push(`clients: ${stats.clients} (connections: ${stats.connections})`, "");
  const list = stats.clientList as BrokerStats["clientList"] | undefined;
  if (list !== undefined) {
    const rows = list.map((c) => [
      c.opened ? (c.address === "" ? "(anonymous)" : c.address) : "(not open)",
      c.conn,
      formatIdle(c.idleMs),
      c.creditAware ? c.credit : "-",
      c.reads.join(",") || "-",
      c.writes || "-",
      c.offers.join(",") || "-",
      c.inflight,
      c.buffered,
    ]);
    const headers = ["address", "conn", "idle", "credit", "reads", "writes", "offers", "in flight", "buffered"];
    // The column only appears on a CURVE broker, so the plain layout is unchanged.
    if (list.some((c) => c.curveKey !== undefined)) {
      headers.push("curve key");
      list.forEach((c, i) => (rows[i] as unknown[]).push(c.curveKey ?? "-"));
    }
    const more = stats.connections - list.length;
    out.push(section("clients", headers, rows) +
      (more > 0 && rows.length > 0 ? `  … and ${more} more\n` : ""));
  }
  out.push(section("mailboxes", ["address", "depth", "bytes"], stats.mailboxes.map((m) => [m.address, m.depth, m.bytes])));
  out.push(section("streams", ["stream", "readers", "writers"], stats.streams.map((s) => [s.name, s.readers, s.writers])));
  out.push(section(
    "services",
    ["service", "workers", "queued", "bytes", "in flight"],
    stats.services.map((s) => [s.name, s.workers, s.queued, s.bytes, s.inflight]),
  ));
  out.push(section("counters", ["counter", "value"], Object.entries(stats.counters).map(([name, value]) => [name, value])));
  const storage = (stats as { storage?: StorageStats }).storage;
  if (storage !== undefined) out.push(formatStorage(storage));
  return out.join("\n");
}

/**
 * The `storage` part of a durable broker's STATS: where and how it writes, what its queues and
 * stream journals hold, and what the last recovery found. Absent for an in-memory broker.
 *
 * @example
 * ```ts
 * if (stats.storage) process.stdout.write(formatStorage(stats.storage));
 * ```
 */
export function formatStorage(storage: StorageStats): string {
  const where = storage.kind === "file" ? `file ${storage.dir ?? "?"}` : "memory";
  const { queues, recovery } = storage;
  const lines = [
    `storage: ${where}, fsync ${storage.fsync}`,
    `  queued: ${queues.records} records, ${queues.bytes} bytes, ${queues.segments} segments`,
    `  last recovery: ${recovery.at > 0 ? new Date(recovery.at).toISOString() : "-"} in ${recovery.ms < 10 ? recovery.ms.toFixed(1) : Math.round(recovery.ms)} ms: ` +
    `${recovery.records} records, ${recovery.entries} journal entries; discarded ${recovery.discardedRecords} records (${recovery.discardedBytes} bytes)`,
    ...recovery.notes.map((note) => `    ${note}`),
    `  write errors: ${storage.writeErrors}${storage.lastError === undefined ? "" : ` (${storage.lastError})`}`,
    "",
  ];
  const journals = section(
    "journals",
    ["stream", "entries", "bytes", "first", "head", "segments"],
    storage.streams.map((j) => [j.name, j.entries, j.bytes, j.first, j.head, j.segments]),
  );
  return `${lines.join("\n")}\n${journals}`;
}

/** Idle time as `850ms`, `12.3s` or `4m05s`. */
function formatIdle(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

function section(title: string, headers: string[], rows: Array<Array<string | number>>): string {
  if (rows.length === 0) return `${title}: none\n`;
  return `${title}:\n${indent(formatTable(headers, rows))}\n`;
}

function indent(text: string): string {
  return text.split("\n").map((line) => `  ${line}`).join("\n");
}

/**
 * How many workers offer `service`, asked of the broker's admin service over a fresh connection
 * with short waits; `undefined` when the broker cannot tell (no admin service, no answer).
 *
 * @example
 * ```ts
 * const workers = await workersOf(flags, "imgsvc"); // 0: nobody offers it; 2: it is served
 * ```
 */
export async function workersOf(flags: ClientFlags, service: string, waitMs = 1000): Promise<number | undefined> {
  try {
    const client = await connectClient({ ...flags, connectTimeout: Math.min(flags.connectTimeout, waitMs) }, { address: replyAddress("stat") });
    try {
      const stats = await askStats(client, waitMs) as Partial<BrokerStats>;
      if (!Array.isArray(stats.services)) return undefined;
      return stats.services.find((s) => s.name === service)?.workers ?? 0;
    } finally {
      await client.close();
    }
  } catch {
    return undefined;
  }
}
