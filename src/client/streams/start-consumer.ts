/**
 * The checks before a journal consumer starts (setConsumer with options): arguments the codec
 * would refuse, a broker without `replay`, a plain subscription on the same stream, and the
 * `maxConsumers` bound; then streams/consumers.ts asks the broker.
 */
import { badArgument, invalidPattern } from "../content.ts";
import { MlmError } from "../errors.ts";
import { FEATURE_REPLAY } from "../features.ts";
import { assertOpenForUse, encodeOrThrow } from "../send/outbox.ts";
import type { ClientCore } from "../session/core.ts";
import type { ConsumerOptions, ConsumerPosition } from "../types.ts";
import { checkConsumerName, wireFrom } from "./stream-service.ts";

export function startConsumer(core: ClientCore, stream: string, pattern: string, options: ConsumerOptions, what: string): Promise<ConsumerPosition> {
  try {
    assertOpenForUse(core);
    if (typeof options !== "object" || options === null) throw badArgument(`${what}: options must be an object`);
    // Checked like the STREAM-READ it stands for: names and patterns the codec would refuse.
    encodeOrThrow({ type: "STREAM_READ", stream, pattern });
    const invalid = invalidPattern(what, pattern);
    if (invalid !== undefined) throw invalid;
    const from = wireFrom(options.from);
    const name = options.durable === undefined ? undefined : checkConsumerName(options.durable);
    if (!core.features.features.includes(FEATURE_REPLAY)) {
      throw new MlmError("MLM_UNSUPPORTED", `${what}: the broker keeps no stream journal (no \`replay\` feature)`);
    }
    if (core.registrations.hasStream(stream)) {
      throw badArgument(`${what}: the stream has a plain subscription on this client; removeConsumer() it first`);
    }
    if (core.consumers.size >= core.consumers.limit && !core.consumers.has(stream)) {
      core.stats.limitRefusals++;
      throw new MlmError("MLM_LIMIT", `${what}: this client already holds ${core.consumers.limit} consumers (maxConsumers)`);
    }
    return core.consumers.start(stream, pattern, from, name, options.autoAck !== false);
  } catch (err) {
    return Promise.reject(err);
  }
}
