/**
 * Receive limits of the ZMTP engine and their defaults: what one connection may make us hold.
 *
 * @example
 * ```ts
 * import { FRAME_OVERHEAD } from "./limits.ts";
 * const cost = frames.reduce((n, f) => n + f.length + FRAME_OVERHEAD, 0); // what maxMessageSize bounds
 * ```
 * @module
 */

/**
 * Bytes charged per frame against `maxMessageSize` and the receive budget, on top of its body:
 * about what a received frame costs in heap beyond its bytes (a typed-array view and its slot
 * in the message's part list). An empty frame is therefore not free, so a flood of them is
 * bounded by the size limit too. A one-frame message can carry `maxMessageSize - 64` bytes.
 */
export const FRAME_OVERHEAD = 64;

/** Default largest message: the sum of its frames' sizes plus {@link FRAME_OVERHEAD} per frame. */
export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024;

/** Default most frames in one message (libzmq has no such cap; real protocols use a handful). */
export const DEFAULT_MAX_MESSAGE_PARTS = 1024;

/** Default receive budget of a ROUTER: bytes held across all its connections in unfinished messages. */
export const DEFAULT_RECEIVE_BUDGET = 1024 * 1024 * 1024;

/**
 * Frames up to this size that arrive split across reads get their whole buffer at once (the
 * fast path, pooled from 16 KiB). Larger ones grow with the bytes that actually arrived, so a
 * header that merely declares a huge size costs little.
 */
export const WHOLE_FRAME_ALLOCATION_MAX = 1024 * 1024;

/** First buffer size of a frame larger than {@link WHOLE_FRAME_ALLOCATION_MAX}; it then doubles. */
export const GROWING_FRAME_START = 64 * 1024;
