import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Delivery } from "../../client/types.ts";
import type { RecvFlags } from "../commands/recv.ts";
import { connectClient } from "../connect.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { asText, formatDeliveryLine, viewFrame } from "../format.ts";
import type { DeliveryView, FrameView } from "../format.ts";
import { exactlyOne } from "../options.ts";
import type { MlmClient } from "../../client/client.ts";
import { MlmError } from "../../client/errors.ts";
import type { ConsumerOptions } from "../../client/types.ts";

/**
 * `malamute recv`: print deliveries until --count, --wait or a stop signal, confirming tracked
 * ones after they are printed. Loaded only when the command runs.
 *
 * @example
 * ```ts
 * context.exitCode = await runRecv({ ...clientFlags, mailbox: "alice", pattern: ".*", confirm: true }, context);
 * ```
 */
export async function runRecv(flags: RecvFlags, context: CommandContext): Promise<number> {
  const { io } = context;
  const { key, value: name } = exactlyOne(flags, ["mailbox", "stream", "service"], "recv");
  if (flags.out !== undefined) await prepareOutDir(flags.out);

  const stop = new AbortController();
  const disposeSignals = io.onStop(() => stop.abort());
  const timer = flags.wait === undefined ? undefined : setTimeout(() => stop.abort(), flags.wait);
  let received = 0;
  try {
    const client = await connectClient(flags, key === "mailbox" ? { address: name } : {});
    try {
      if (key === "stream") await subscribe(client, name, flags);
      if (key === "service") await client.setWorker(name, flags.pattern);
      if (flags.verbose) {
        const what = key === "mailbox" ? `mailbox ${name}` : `${key} ${name} pattern ${JSON.stringify(flags.pattern)}${consumerNote(flags)}`;
        io.stderr(`recv: ready, ${what} on ${flags.endpoint}\n`);
      }
      while (flags.count === undefined || received < flags.count) {
        let delivery: Delivery;
        try {
          delivery = await client.receive({ signal: stop.signal });
        } catch (error) {
          if (stop.signal.aborted) break;
          throw error;
        }
        received++;
        const view = await viewDelivery(delivery, received, flags.out);
        io.stdout((flags.json ? JSON.stringify(view) : formatDeliveryLine(view)) + "\n");
        if (flags.confirm && delivery.tracker !== "" && delivery.kind !== "stream") client.confirm(delivery);
      }
    } finally {
      await client.close();
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    disposeSignals();
  }
  // --wait bounds the run; falling short of what was asked for is a failure scripts can see.
  const expected = flags.count ?? 1;
  if (flags.wait !== undefined && received < expected) {
    throw new CliError("CLI_TIMEOUT", `received ${received} of ${expected} message(s) within ${flags.wait} ms`, {
      hint: "check the sender and the pattern, or raise --wait",
    });
  }
  return ExitCode.ok;
}

/** A plain subscription, or a journal consumer when --from or --consumer is given. */
async function subscribe(client: MlmClient, stream: string, flags: RecvFlags): Promise<void> {
  if (flags.from === undefined && flags.consumer === undefined) {
    await client.setConsumer(stream, flags.pattern);
    return;
  }
  const options: ConsumerOptions = {};
  if (flags.from !== undefined) options.from = flags.from;
  if (flags.consumer !== undefined) options.durable = flags.consumer;
  try {
    await client.setConsumer(stream, flags.pattern, options);
  } catch (error) {
    if (error instanceof MlmError && (error.code === "MLM_UNSUPPORTED" || error.code === "MLM_CONSUMER_REFUSED")) {
      throw new CliError("CLI_FAILED", `cannot read the history of stream ${stream}: ${error.message}`, {
        hint: "this needs the TypeScript broker with a stream journal (`malamute broker --data-dir DIR`)",
        cause: error,
      });
    }
    throw error;
  }
}

function consumerNote(flags: RecvFlags): string {
  if (flags.from === undefined && flags.consumer === undefined) return "";
  const from = flags.from === undefined ? "" : ` from ${JSON.stringify(flags.from)}`;
  return `${from}${flags.consumer === undefined ? "" : ` consumer ${flags.consumer}`}`;
}

async function prepareOutDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new CliError("CLI_FILE", `cannot create folder ${dir}: ${(error as Error).message}`, {
      hint: "choose a writable --out folder",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
}

/** What is printed for a delivery; binary frames go to files under `out` when it is set. */
async function viewDelivery(delivery: Delivery, seq: number, out: string | undefined): Promise<DeliveryView> {
  const content: FrameView[] = [];
  for (const [index, frame] of delivery.content.entries()) {
    if (out !== undefined && asText(frame) === undefined) {
      const file = join(out, `${seq}-${index}.bin`);
      await writeFile(file, frame);
      content.push(viewFrame(frame, file));
    } else {
      content.push(viewFrame(frame));
    }
  }
  const view: DeliveryView = {
    kind: delivery.kind,
    sender: delivery.sender,
    address: delivery.address,
    subject: delivery.subject,
    tracker: delivery.tracker,
    content,
  };
  if (delivery.seq !== undefined) view.seq = delivery.seq;
  return view;
}
