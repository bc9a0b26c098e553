import { MlmError } from "./errors.ts";
import type { Delivery } from "./types.ts";
import { concatBytes } from "../util/bytes.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A delivery with readers for its content. The iterators of `consume()`, `mailbox()` and
 * `requests()` and `request()` yield these; `Message.from(d)` wraps any other delivery.
 *
 * @example
 * ```ts
 * for await (const m of client.mailbox()) console.log(m.subject, m.json<{ id: number }>().id);
 * ```
 */
export class Message implements Delivery {
  readonly kind: Delivery["kind"];
  readonly sender: string;
  readonly address: string;
  readonly subject: string;
  readonly tracker: string;
  readonly content: Uint8Array[];
  readonly seq?: number;
  /** The delivery it wraps: the client tracks journal entries by that object (acks). */
  readonly #origin: Delivery;

  constructor(delivery: Delivery) {
    this.#origin = delivery instanceof Message ? delivery.#origin : delivery;
    this.kind = delivery.kind;
    this.sender = delivery.sender;
    this.address = delivery.address;
    this.subject = delivery.subject;
    this.tracker = delivery.tracker;
    this.content = delivery.content;
    if (delivery.seq !== undefined) this.seq = delivery.seq;
  }

  /**
   * Wrap a delivery (from `receive()` or `onDelivery`); a Message is returned as it is.
   *
   * @example
   * ```ts
   * const text = Message.from(await client.receive()).text();
   * ```
   */
  static from(delivery: Delivery): Message {
    return delivery instanceof Message ? delivery : new Message(delivery);
  }

  /**
   * The whole content as one byte array: the frame itself when there is one (not a copy), the
   * frames joined when there are several, empty when there is none.
   *
   * @example
   * ```ts
   * const png = m.bytes();
   * ```
   */
  bytes(): Uint8Array {
    return concatBytes(this.content);
  }

  /**
   * The content as UTF-8 text. Throws `MLM_BAD_CONTENT` when it is not valid UTF-8.
   *
   * @example
   * ```ts
   * console.log(m.text()); // "-5.5"
   * ```
   */
  text(): string {
    try {
      return utf8.decode(this.bytes());
    } catch (cause) {
      throw new MlmError("MLM_BAD_CONTENT", `${this.#what()} is not valid UTF-8`, { cause });
    }
  }

  /**
   * The content parsed as JSON (no schema check: the type parameter is the caller's promise).
   * Throws `MLM_BAD_CONTENT` when it is not JSON.
   *
   * @example
   * ```ts
   * const { city, temp } = m.json<{ city: string; temp: number }>();
   * ```
   */
  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new MlmError("MLM_BAD_CONTENT", `${this.#what()} is not JSON: ${(cause as Error).message}`, { cause });
    }
  }

  /** @internal The delivery object the client knows (for `client.ack`). */
  static origin(delivery: Delivery): Delivery {
    return delivery instanceof Message ? delivery.#origin : delivery;
  }

  #what(): string {
    return `the content of ${this.kind} delivery ${JSON.stringify(this.subject)} from ${JSON.stringify(this.sender)}`;
  }
}
