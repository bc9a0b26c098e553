// A raw MLM peer for broker tests: a transport DEALER plus the codec, nothing of MlmClient.
import assert from "node:assert/strict";
import type { DealerSocket, Transport } from "../../src/transport/types.ts";
import { decode, encode } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";

const WAIT_MS = 5000;

export class RawClient {
  readonly dealer: DealerSocket;
  readonly #inbox: MlmMessage[] = [];
  readonly #rawInbox: Uint8Array[][] = [];
  #waiter: (() => void) | undefined;

  constructor(transport: Transport, endpoint: string, options?: { plain?: { username: string; password: string } }) {
    this.dealer = transport.dealer({ ...options, reconnectInterval: 20 });
    this.dealer.on("message", (received) => {
      // Transports may hand out Buffers; tests compare plain Uint8Arrays.
      const frames = received.map((f) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
      this.#rawInbox.push(frames);
      const result = decode(frames);
      assert.ok(result.ok, "broker sent an undecodable message");
      this.#inbox.push(result.message);
      this.#waiter?.();
    });
    this.dealer.connect(endpoint);
  }

  send(message: MlmMessage): void {
    this.dealer.send(encode(message));
  }

  sendRaw(frames: Uint8Array[]): void {
    this.dealer.send(frames);
  }

  /** The next message from the broker (fails the test after a few seconds of silence). */
  async next(): Promise<MlmMessage> {
    const deadline = Date.now() + WAIT_MS;
    while (this.#inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail("no message from the broker");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    this.lastFrames = this.#rawInbox.shift() as Uint8Array[];
    return this.#inbox.shift() as MlmMessage;
  }

  /** The raw frames of the next message. */
  async nextFrames(): Promise<Uint8Array[]> {
    await this.next();
    return this.lastFrames;
  }

  /** Frames of the message `next()` returned last. */
  lastFrames: Uint8Array[] = [];

  /** Prove that nothing arrived before: PING must be answered by the very next message. */
  async expectOnlyPong(): Promise<void> {
    this.send({ type: "CONNECTION_PING" });
    assert.deepEqual(await this.next(), { type: "CONNECTION_PONG" });
  }

  async open(address: string): Promise<void> {
    this.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address });
    assert.deepEqual(await this.next(), { type: "OK", code: 200, reason: "" });
  }

  async ok(message: MlmMessage): Promise<void> {
    this.send(message);
    assert.deepEqual(await this.next(), { type: "OK", code: 200, reason: "" });
  }

  close(): Promise<void> {
    return this.dealer.close();
  }
}

/** Poll `condition` until it holds (waiting for the broker, not measuring it). */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
