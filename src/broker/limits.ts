import type { BrokerLimits } from "./types.ts";

const MiB = 1024 * 1024;

/**
 * The limits used when a configuration leaves one out. Safe for a small server:
 * a few hundred MiB at worst per misbehaving mailbox, queue or reader.
 *
 * @example
 * ```ts
 * const limits = { ...DEFAULT_LIMITS, mailboxMessages: 100 };
 * ```
 */
export const DEFAULT_LIMITS: Readonly<BrokerLimits> = Object.freeze({
  maxConnections: 10_000,
  maxMessageSize: 64 * MiB,
  mailboxMessages: 100_000,
  mailboxBytes: 64 * MiB,
  mailboxWarnBytes: Infinity,
  serviceQueueMessages: 100_000,
  serviceQueueBytes: 64 * MiB,
  serviceQueueWarnBytes: Infinity,
  streamBufferMessages: 10_000,
  streamBufferBytes: 16 * MiB,
  maxMalformed: 100,
  pendingConfirms: 10_000,
  inflightBytes: 64 * MiB,
  peerSendMessages: 10_000,
  peerSendBytes: 32 * MiB,
  maxMessageParts: 1024,
  receiveBudget: 256 * MiB,
  handshakeTimeout: 10_000,
  openTimeout: 10_000,
  patternsPerConnection: 1_000,
  offersPerConnection: 1_000,
  storedMessages: 1_000_000,
  storedBytes: 1024 * MiB,
  patternsPerStream: 10_000,
  matchesPerTurn: 2_000,
  expiriesPerTurn: 1_000,
  streamBacklogMessages: 10_000,
  streamBacklogBytes: 64 * MiB,
  logBurst: 10,
  logWindow: 60_000,
  consumersPerConnection: 100,
  durableConsumers: 10_000,
  journaledStreams: 1_000,
  replayBatchMessages: 512,
  replayBatchBytes: 1 * MiB,
});

/**
 * Room for the MLM header frame on top of `maxMessageSize` (which counts content only) when the
 * limit is handed to the transport: the header's strings are at most a few KiB.
 */
export const HEADER_ALLOWANCE = 64 * 1024;

/** Default client expiry in ms (the C broker's sample `malamute.cfg`). */
export const DEFAULT_TIMEOUT = 10_000;

/**
 * Fill in defaults and reject nonsense (negative or NaN limits fall back to the default).
 *
 * @example
 * ```ts
 * resolveLimits({ mailboxBytes: 1024 }).mailboxMessages; // 100000
 * ```
 */
export function resolveLimits(partial: Partial<BrokerLimits> | undefined): BrokerLimits {
  const out = { ...DEFAULT_LIMITS };
  if (!partial) return out;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof BrokerLimits)[]) {
    const value = partial[key];
    if (typeof value === "number" && value >= 0 && !Number.isNaN(value)) out[key] = value;
  }
  return out;
}
