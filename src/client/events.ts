import type { Confirmation } from "./types.ts";

/**
 * Events of an {@link MlmClient}.
 *
 * @example
 * ```ts
 * client.on("disconnected", (reason) => console.warn("lost:", reason));
 * client.on("connected", () => console.info("re-opened and replayed"));
 * ```
 */
export interface MlmClientEvents {
  /** The broker forwarded the outcome of a tracked message this client sent. */
  confirm: (confirmation: Confirmation) => void;
  /** The session was re-opened and every registration replayed. */
  connected: () => void;
  /** The session was lost (connection dropped, broker silent, or broker forgot us). */
  disconnected: (reason: string) => void;
  /** Something went wrong that no pending call can report (dropped delivery, refused CONFIRM...). */
  error: (error: Error) => void;
}
