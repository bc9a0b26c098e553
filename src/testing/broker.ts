import { type Broker, type BrokerOptions, startBroker } from "../broker/server.ts";
import type { BrokerLimits } from "../broker/types.ts";
import { inproc } from "../transport/inproc.ts";
import type { Transport } from "../transport/types.ts";

/**
 * A broker running in this process on the `inproc` transport: no port, no file, no child process.
 *
 * @example
 * ```ts
 * const t = await testBroker();
 * const client = await MlmClient.connect(t.endpoint, { transport: t.transport });
 * ```
 */
export interface TestBroker {
  /** `inproc://malamute-test-<n>`: unique in this process. */
  readonly endpoint: string;
  /** The `inproc` transport: pass it to every client, worker and watcher of the test. */
  readonly transport: Transport;
  /** `{ transport }`, to spread into client options: `MlmClient.connect(t.endpoint, t.options)`. */
  readonly options: { readonly transport: Transport };
  readonly broker: Broker;
  /** Register something to close before the broker (closed in reverse order). Returns it. */
  own<T extends { close(): Promise<unknown> }>(thing: T): T;
  /** Closes everything `own`ed (errors ignored: the test is over), then the broker. Idempotent. */
  close(): Promise<void>;
}

/**
 * Options of {@link testBroker}.
 *
 * @example
 * ```ts
 * const t = await testBroker({ journal: true, limits: { mailboxMessages: 10 } });
 * ```
 */
export interface TestBrokerOptions {
  /** Keep a stream journal in memory (replay, durable consumers). Default false. */
  journal?: boolean;
  limits?: Partial<BrokerLimits>;
  /** Client expiry, ms. Default the broker's (10 000). */
  timeout?: number;
  /** Receives the broker's log records. Default: none. */
  log?: BrokerOptions["log"];
}

// Process-wide, so that brokers of concurrent tests never share an endpoint.
let counter = 0;

/**
 * Start a broker for one test, in one line. Works the same under `node:test`, `bun test`
 * and `deno test` (nothing listens on the network, so no sanitizer complains about ports).
 *
 * @example
 * ```ts
 * import { testBroker } from "malamute/testing";
 * const t = await testBroker();
 * try {
 *   const worker = t.own(await serve(t.endpoint, echo, handlers, t.options));
 * } finally {
 *   await t.close();
 * }
 * ```
 */
export async function testBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const endpoint = `inproc://malamute-test-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const broker = await startBroker({
    endpoints: [endpoint],
    transport: inproc,
    ...(options.journal ? { storage: { memory: true } } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const owned: Array<{ close(): Promise<unknown> }> = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      for (const thing of owned.reverse()) await thing.close().catch(() => {});
      await broker.close();
    })();
  return {
    endpoint,
    transport: inproc,
    options: { transport: inproc },
    broker,
    own(thing) {
      owned.push(thing);
      return thing;
    },
    close,
  };
}
