import type { MlmClient } from "../../client/client.ts";
import { MlmError } from "../../client/errors.ts";
import type { Confirmation, DurableSendOptions, SendOptions } from "../../client/types.ts";
import type { SendFlags } from "../commands/send.ts";
import { connectClient, replyAddress } from "../connect.ts";
import { resolveContent } from "../content.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { exactlyOne } from "../options.ts";

/**
 * `malamute send`: send one message (or one per stdin line) and, with --confirm, wait for the
 * CONFIRM of each. Loaded only when the command runs.
 *
 * @example
 * ```ts
 * context.exitCode = await runSend("greeting", ["hello"], { ...clientFlags, to: "alice", wait: 10000 }, context);
 * ```
 */
export async function runSend(subject: string, args: string[], flags: SendFlags, context: CommandContext): Promise<number> {
  const { io } = context;
  const { key, value: destination } = exactlyOne(flags, ["to", "service", "stream"], "send");
  if (flags.lines && args.length > 0) {
    throw new CliError("CLI_USAGE", "--lines takes the content from standard input, not from arguments", {
      hint: "drop the content arguments, or drop --lines",
      exitCode: ExitCode.usage,
    });
  }
  if (key === "stream" && (flags.tracker !== undefined || flags.ttl !== undefined || flags.confirm || flags.durable)) {
    throw new CliError("CLI_USAGE", "stream messages have no tracker, time-to-live or confirmation", {
      hint: "use --tracker, --ttl, --confirm and --durable with --to or --service",
      exitCode: ExitCode.usage,
    });
  }
  // Read every input before connecting, so a bad @file fails without touching the broker.
  const content = flags.lines ? [] : await resolveContent(args, io);

  const client = await connectClient(flags, flags.confirm ? { address: replyAddress("send") } : {});
  try {
    if (key === "stream") await client.setProducer(destination);
    const tracker = flags.tracker ?? (flags.confirm || flags.durable ? replyAddress("tracker") : "");
    const confirmations = flags.confirm ? confirmationsOf(client) : undefined;
    const stored: Array<{ tracker: string; done: Promise<void> }> = [];
    const sendOne = (frames: Uint8Array[] | string, tracking: string) => {
      const timeout = flags.ttl ?? 0;
      if (flags.durable && key !== "stream") {
        const options: DurableSendOptions = { tracker: tracking, timeout, durable: true };
        const done = key === "to" ? client.sendTo(destination, subject, frames, options) : client.sendFor(destination, subject, frames, options);
        done.catch(() => {}); // awaited in order below; an early failure must not go unhandled meanwhile
        stored.push({ tracker: tracking, done });
        return;
      }
      const options: SendOptions = { tracker: tracking, timeout };
      if (key === "to") client.sendTo(destination, subject, frames, options);
      else if (key === "service") client.sendFor(destination, subject, frames, options);
      else client.send(subject, frames);
    };

    const trackers: string[] = [];
    if (flags.lines) {
      let n = 0;
      for await (const line of io.stdinLines()) {
        const tracking = tracker === "" ? "" : `${tracker}-${++n}`;
        sendOne(line, tracking);
        if (tracking !== "") trackers.push(tracking);
      }
    } else {
      sendOne(content, tracker);
      if (tracker !== "") trackers.push(tracker);
    }
    if (flags.durable) await awaitStored(stored, flags.wait, context);
    if (confirmations === undefined) return ExitCode.ok;
    return await awaitConfirmations(confirmations, trackers, flags.wait, context);
  } finally {
    await client.close();
  }
}

/** Wait (at most `waitMs` in all) until the broker has stored every durable message; print each. */
async function awaitStored(stored: Array<{ tracker: string; done: Promise<void> }>, waitMs: number, context: CommandContext): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError("CLI_TIMEOUT", `the broker did not confirm storage within ${waitMs} ms`, {
      hint: "the broker may be slow to sync its disk; raise --wait",
    })), waitMs);
  });
  try {
    for (const { tracker, done } of stored) {
      try {
        await Promise.race([done, timeout]);
      } catch (error) {
        throw storedFailure(error, tracker);
      }
      context.io.stdout(`stored tracker=${tracker}\n`);
    }
  } finally {
    clearTimeout(timer);
  }
}

function storedFailure(error: unknown, tracker: string): unknown {
  if (!(error instanceof MlmError)) return error;
  if (error.code === "MLM_UNSUPPORTED") {
    return new CliError("CLI_FAILED", `--durable: ${error.message}`, {
      hint: "this needs the TypeScript broker (`malamute broker`); drop --durable for a C broker",
      cause: error,
    });
  }
  return new CliError("CLI_FAILED", `tracker ${tracker} was not stored: ${error.message} [${error.code}]`, {
    hint: error.status === 306 ? "the broker cannot write its data directory (disk full or permissions): see its log" : "see the code and reason above",
    cause: error,
  });
}

interface Confirmations {
  wait(tracker: string, signal: AbortSignal): Promise<Confirmation>;
  dispose(): void;
}

/** Collect CONFIRMs as they arrive, so one that comes before we ask for it is not lost. */
function confirmationsOf(client: MlmClient): Confirmations {
  const arrived = new Map<string, Confirmation>();
  const waiting = new Map<string, (c: Confirmation) => void>();
  const onConfirm = (confirmation: Confirmation) => {
    const waiter = waiting.get(confirmation.tracker);
    if (waiter) waiter(confirmation);
    else arrived.set(confirmation.tracker, confirmation);
  };
  client.on("confirm", onConfirm);
  return {
    wait: (tracker, signal) => {
      const early = arrived.get(tracker);
      if (early) return Promise.resolve(early);
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          waiting.delete(tracker);
          reject(signal.reason);
        };
        waiting.set(tracker, (c) => {
          waiting.delete(tracker);
          signal.removeEventListener("abort", onAbort);
          resolve(c);
        });
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
    dispose: () => void client.off("confirm", onConfirm),
  };
}

async function awaitConfirmations(confirmations: Confirmations, trackers: string[], waitMs: number, context: CommandContext): Promise<number> {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new Error("timeout")), waitMs);
  let failed = 0;
  try {
    for (const tracker of trackers) {
      let confirmation: Confirmation;
      try {
        confirmation = await confirmations.wait(tracker, timer.signal);
      } catch {
        throw new CliError("CLI_TIMEOUT", `no confirmation for tracker ${tracker} within ${waitMs} ms`, {
          hint: "the message may still be queued (no reader or worker yet); raise --wait, or check with `malamute stat`",
        });
      }
      const reason = confirmation.reason === "" ? "" : ` ${confirmation.reason}`;
      context.io.stdout(`confirmed tracker=${tracker} code=${confirmation.code}${reason}\n`);
      if (confirmation.code >= 300) failed++;
    }
  } finally {
    clearTimeout(timeout);
    confirmations.dispose();
  }
  if (failed > 0) {
    throw new CliError("CLI_FAILED", `${failed} of ${trackers.length} message(s) were not delivered`, {
      hint: "see the code and reason above",
    });
  }
  return ExitCode.ok;
}
