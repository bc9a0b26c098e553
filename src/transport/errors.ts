import { MalamuteError } from "../errors.ts";

/**
 * A transport failure: bad endpoint, queue full, unreachable peer, closed socket.
 *
 * Codes: `BAD_ENDPOINT`, `SEND_QUEUE_FULL`, `HOST_UNREACHABLE`, `SOCKET_CLOSED`,
 * `BIND_FAILED`, `MESSAGE_TOO_LARGE`, `BAD_OPTION`.
 *
 * @example
 * ```ts
 * try { dealer.send(frames); } catch (e) {
 *   if (e instanceof TransportError && e.code === "SEND_QUEUE_FULL") await sleep(10);
 * }
 * ```
 */
export class TransportError extends MalamuteError {}
