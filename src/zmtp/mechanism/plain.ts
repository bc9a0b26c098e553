// The PLAIN security mechanism (RFC 24): username and password in clear.
import { type Command, decodeErrorReason, encodeCommand } from "../commands.ts";
import { ZmtpError } from "../errors.ts";
import type { Mechanism, MechanismContext } from "./types.ts";

const utf8 = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * ZMTP PLAIN client (RFC 24): HELLO(username, password) → WELCOME → INITIATE(metadata) → READY.
 * Any other answer — including libzmq's malformed `^RROR` command — means the credentials
 * were refused.
 *
 * @example
 * ```ts
 * const mech = new PlainClientMechanism("admin", "secret");
 * ```
 */
export class PlainClientMechanism implements Mechanism {
  readonly name = "PLAIN" as const;
  readonly asServer = false;
  readonly #username: Uint8Array;
  readonly #password: Uint8Array;
  #state: "hello" | "initiate" = "hello";

  constructor(username: string, password: string) {
    this.#username = utf8.encode(username);
    this.#password = utf8.encode(password);
    if (this.#username.length > 255 || this.#password.length > 255) {
      throw new RangeError("PLAIN username and password must be at most 255 bytes each");
    }
  }

  start(ctx: MechanismContext): void {
    const u = this.#username;
    const p = this.#password;
    const data = new Uint8Array(2 + u.length + p.length);
    data[0] = u.length;
    data.set(u, 1);
    data[1 + u.length] = p.length;
    data.set(p, 2 + u.length);
    ctx.sendCommand(encodeCommand("HELLO", data));
  }

  command(ctx: MechanismContext, cmd: Command): boolean {
    if (this.#state === "hello" && cmd.name === "WELCOME") {
      this.#state = "initiate";
      ctx.sendCommand(encodeCommand("INITIATE", ctx.localMetadata));
      return false;
    }
    if (this.#state === "initiate" && cmd.name === "READY") {
      ctx.acceptPeerMetadata(cmd.data);
      return true;
    }
    // "^RROR" is what libzmq 4.3 actually sends ("\x05ERROR" in C is 0x5E "RROR").
    const reason = cmd.name === "ERROR" || cmd.name === "^RROR" ? decodeErrorReason(cmd.data) : `unexpected ${cmd.name}`;
    throw new ZmtpError("ZMTP_AUTH_FAILED", `PLAIN authentication refused by peer: ${reason}`);
  }
}

/**
 * ZMTP PLAIN server (RFC 24): waits for HELLO, asks the application to check the
 * credentials, then WELCOME → INITIATE(metadata) → READY(metadata). Refused credentials get
 * an ERROR "400" before the connection is closed.
 *
 * @example
 * ```ts
 * const mech = new PlainServerMechanism();
 * ```
 */
export class PlainServerMechanism implements Mechanism {
  readonly name = "PLAIN" as const;
  readonly asServer = true;
  #state: "hello" | "auth" | "initiate" = "hello";
  /** The authenticated username, once known. */
  username: string | undefined;

  start(): void {
    // The client speaks first.
  }

  command(ctx: MechanismContext, cmd: Command): boolean {
    if (this.#state === "hello" && cmd.name === "HELLO") {
      const d = cmd.data;
      const ulen = d[0];
      if (ulen === undefined || 1 + ulen >= d.length) throw malformedHello();
      const plen = d[1 + ulen] as number;
      if (2 + ulen + plen !== d.length) throw malformedHello();
      let username: string;
      let password: string;
      try {
        username = decoder.decode(d.subarray(1, 1 + ulen));
        password = decoder.decode(d.subarray(2 + ulen));
      } catch (cause) {
        throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "PLAIN HELLO credentials are not UTF-8", { cause });
      }
      this.#state = "auth";
      this.username = username;
      ctx.requestAuthentication(username, password);
      return false;
    }
    if (this.#state === "initiate" && cmd.name === "INITIATE") {
      ctx.acceptPeerMetadata(cmd.data);
      ctx.sendCommand(encodeCommand("READY", ctx.localMetadata));
      return true;
    }
    throw new ZmtpError("ZMTP_UNEXPECTED_COMMAND", `unexpected ${cmd.name} during PLAIN handshake`);
  }

  authenticated(ctx: MechanismContext, ok: boolean): boolean {
    if (this.#state !== "auth") return false;
    if (!ok) throw new ZmtpError("ZMTP_AUTH_FAILED", `PLAIN credentials refused for user "${this.username}"`);
    this.#state = "initiate";
    ctx.sendCommand(encodeCommand("WELCOME"));
    return false;
  }
}

function malformedHello(): ZmtpError {
  return new ZmtpError("ZMTP_MALFORMED_COMMAND", "malformed PLAIN HELLO");
}
