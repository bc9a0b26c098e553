// The zeromq (libzmq) transport's DEALER, behind the transport interface.
import { Dealer } from "zeromq";
import { Emitter } from "../../util/emitter.ts";
import { ZmtpError, type ZmtpErrorCode } from "../../zmtp/errors.ts";
import { parseEndpoint } from "../endpoint.ts";
import { TransportError } from "../errors.ts";
import { checkMessageSize, emptyStats } from "../common.ts";
import { curveClientKeys } from "../mechanisms.ts";
import { encodeZ85 } from "../../zmtp/z85.ts";
import type { DealerEvents, DealerOptions, DealerSocket, Frames, SocketStats } from "../types.ts";

/**
 * DEALER backed by libzmq. libzmq queues up to `sendHighWaterMark` messages per connected
 * endpoint (even while disconnected) and reconnects by itself; zeromq.js allows one send in
 * flight, so messages also wait in a local queue of the same bound. When that local queue is
 * full, `send` throws TransportError `SEND_QUEUE_FULL`.
 *
 * After a protocol error (such as refused PLAIN credentials) libzmq stops reconnecting
 * that endpoint; an `error` event reports it.
 */
export class ZeromqDealer extends Emitter<DealerEvents> implements DealerSocket {
  readonly #options: DealerOptions;
  readonly #socket: Dealer;
  readonly #stats: SocketStats = emptyStats();
  #out: Frames[] = [];
  #head = 0;
  readonly #hwm: number;
  #up = 0;
  #writing = false;
  #closed = false;
  #loop: Promise<void> | undefined;
  #writer: Promise<void> = Promise.resolve();

  constructor(options: DealerOptions) {
    super();
    this.#options = options;
    this.#hwm = options.sendHighWaterMark ?? 1000;
    const hb = options.heartbeat;
    this.#socket = new Dealer({
      linger: 0,
      sendHighWaterMark: this.#hwm,
      reconnectInterval: options.reconnectInterval ?? 100,
      reconnectMaxInterval: options.reconnectIntervalMax ?? 0,
      maxMessageSize: options.maxMessageSize ?? 256 * 1024 * 1024,
      handshakeInterval: options.handshakeTimeout ?? 30_000,
      ...(options.routingId ? { routingId: asciiId(options.routingId) } : {}),
      ...(options.plain ? { plainUsername: options.plain.username, plainPassword: options.plain.password } : {}),
      ...(options.curve ? zeromqCurve(options) : {}),
      ...(hb && hb.interval > 0
        ? { heartbeatInterval: hb.interval, heartbeatTimeout: hb.timeout ?? hb.interval, heartbeatTimeToLive: hb.ttl ?? 0 }
        : {}),
    });
    // The monitor is set up before any connect(): events emitted before it is attached are lost.
    const events = this.#socket.events;
    events.on("handshake", (e) => {
      this.#up++;
      this.emit("connect", e.address);
    });
    events.on("disconnect", (e) => {
      if (this.#up > 0) this.#up--;
      this.emit("disconnect", e.address, "connection closed");
    });
    const refused = (code: ZmtpErrorCode) => (e: { address: string; error: Error }) => {
      this.#stats.protocolErrors++;
      this.emit("error", new ZmtpError(code, `${e.address}: ${e.error.message}`, { cause: e.error }));
    };
    events.on("handshake:error:auth", refused("ZMTP_AUTH_FAILED"));
    // libzmq reports a refused PLAIN login as a protocol error too (it cannot parse its own ERROR).
    // A wrong CURVE server key shows as a protocol error too: the WELCOME box does not open.
    events.on(
      "handshake:error:protocol",
      refused(this.#options.plain ? "ZMTP_AUTH_FAILED" : this.#options.curve ? "ZMTP_CURVE_BOX" : "ZMTP_UNEXPECTED_COMMAND"),
    );
  }

  /** Reading starts at the first connect(): see ZeromqRouter for the Deno reason. */
  #startReading(): void {
    if (this.#loop) return;
    this.#loop = this.#receive();
  }

  get connected(): boolean {
    return this.#up > 0;
  }

  connect(endpoint: string): void {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    const parsed = parseEndpoint(endpoint);
    if (parsed.scheme !== "tcp") throw new TransportError("BAD_ENDPOINT", `zeromq transport connects tcp:// only, not ${endpoint}`);
    this.#socket.connect(endpoint);
    this.#startReading();
    // Sends wait for the first connect: a zeromq.js send pending on a socket without any pipe
    // is not reliably woken once one appears.
    if (!this.#writing && this.#out.length > this.#head) this.#writer = this.#write();
  }

  async #receive(): Promise<void> {
    try {
      for await (const frames of this.#socket) {
        this.#stats.messagesIn++;
        this.emit("message", frames);
      }
    } catch (err) {
      if (!this.#closed) this.emit("error", err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Queue a message (sent round-robin by libzmq).
   *
   * @throws TransportError `SEND_QUEUE_FULL` when `sendHighWaterMark` messages already wait
   *   locally; `MESSAGE_TOO_LARGE` beyond `maxMessageSize`; `SOCKET_CLOSED` after `close()`.
   */
  send(frames: Frames): void {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    checkMessageSize(frames, this.#options.maxMessageSize);
    if (this.#out.length - this.#head >= this.#hwm) {
      throw new TransportError("SEND_QUEUE_FULL", `${this.#hwm} messages already wait to be sent (sendHighWaterMark)`);
    }
    this.#out.push(frames);
    if (!this.#writing && this.#loop) this.#writer = this.#write();
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#head < this.#out.length && !this.#closed) {
        const msg = this.#out[this.#head] as Frames;
        try {
          await this.#socket.send(msg);
          this.#stats.messagesOut++;
        } catch (err) {
          if (this.#closed) return;
          this.emit("error", err instanceof Error ? err : new Error(String(err)));
        }
        // A head index instead of shift(): shifting a long queue is O(n) per message.
        this.#out[this.#head++] = undefined as unknown as Frames;
        if (this.#head === this.#out.length) {
          this.#out = [];
          this.#head = 0;
        } else if (this.#head > 1024 && this.#head * 2 > this.#out.length) {
          this.#out = this.#out.slice(this.#head);
          this.#head = 0;
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  stats(): SocketStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#out = [];
    this.#head = 0;
    this.#socket.close();
    await Promise.allSettled([this.#loop, this.#writer]);
  }
}

/** zeromq.js takes routing ids as strings (UTF-8 encoded), so only ASCII ids map 1:1 to bytes. */
function asciiId(id: Uint8Array): string {
  let s = "";
  for (const b of id) {
    if (b > 0x7f) throw new RangeError("the zeromq transport supports ASCII routing ids only");
    s += String.fromCharCode(b);
  }
  return s;
}

/** Our `curve` option as zeromq.js's own CURVE options (Z85 strings), checked as the zmtp transport checks them. */
function zeromqCurve(options: DealerOptions): { curveServerKey: string; curvePublicKey: string; curveSecretKey: string } {
  if (options.plain) throw new RangeError("a socket takes either curve or plain options, not both");
  const keys = curveClientKeys(options.curve as NonNullable<DealerOptions["curve"]>);
  return {
    curveServerKey: encodeZ85(keys.serverKey),
    curvePublicKey: encodeZ85(keys.publicKey),
    curveSecretKey: encodeZ85(keys.secretKey),
  };
}
