import { Command, Option } from "commander";
import type { CommandContext } from "../context.ts";
import type { ConsumerFrom } from "../../client/types.ts";
import { CliError, ExitCode } from "../errors.ts";
import { addClientOptions, exactlyOne, integer, parseFrom } from "../options.ts";
import type { ClientFlags } from "../options.ts";

/** Parsed options of `malamute recv`. */
export interface RecvFlags extends ClientFlags {
  mailbox?: string;
  stream?: string;
  service?: string;
  pattern: string;
  json?: boolean;
  count?: number;
  wait?: number;
  out?: string;
  confirm: boolean;
  verbose?: boolean;
  from?: ConsumerFrom;
  consumer?: string;
}

/**
 * `malamute recv`: print what arrives at a mailbox, on a stream or for a service.
 *
 * @example
 * ```ts
 * program.addCommand(recvCommand(context));
 * ```
 */
export function recvCommand(context: CommandContext): Command {
  return addClientOptions(
    new Command("recv")
      .description("print messages from a mailbox (--mailbox), a stream (--stream) or a service (--service)")
      .addOption(new Option("--mailbox <address>", "take this mailbox address and print what arrives there"))
      .addOption(new Option("--stream <name>", "read a stream (subjects filtered by --pattern)"))
      .addOption(new Option("--service <name>", "work for a service (requests filtered by --pattern)"))
      .addOption(new Option("-p, --pattern <regex>", "subject pattern for --stream and --service").default(".*"))
      .addOption(new Option("--json", "one JSON object per message"))
      .addOption(new Option("-n, --count <n>", "exit after this many messages").argParser(integer({ min: 1 })))
      .addOption(new Option("--wait <ms>", "exit after this long; exit 1 if fewer than --count (or no) messages came").argParser(integer({ min: 1 })))
      .addOption(new Option("-o, --out <dir>", "save binary content frames as files in this folder"))
      .addOption(new Option("--from <where>", "with --stream: read the stream's history first: first, new, seq:N, last:N or time:ISO-DATE (prints each message's sequence number)").argParser(parseFrom))
      .addOption(new Option("--consumer <name>", "with --stream: a durable consumer; the broker keeps its position and a later run resumes after the last message printed"))
      .addOption(new Option("--no-confirm", "do not CONFIRM tracked messages after printing them"))
      .addOption(new Option("-v, --verbose", "print a line on stderr once the broker has registered us (ready to receive)")),
  )
    .addHelpText("after", `
Text frames are printed as JSON strings; binary frames as their size and first bytes in hex,
unless --out saves them. Runs until SIGINT/SIGTERM, --count or --wait.

Examples:
  $ malamute recv --mailbox alice
  $ malamute recv --stream weather --pattern '^london\\.' --json
  $ malamute recv --stream forge.events --from first
  $ malamute recv --stream forge.events --from time:2026-01-02T08:00:00Z --consumer dashboard
  $ malamute recv --service images --pattern 'resize|crop' --out ./requests
  $ malamute recv --mailbox bob --count 1 --wait 5000`)
    .action(async (flags: RecvFlags) => {
      exactlyOne(flags, ["mailbox", "stream", "service"], "recv");
      if ((flags.from !== undefined || flags.consumer !== undefined) && flags.stream === undefined) {
        throw new CliError("CLI_USAGE", "--from and --consumer read a stream's history: they need --stream", {
          hint: "add --stream <name>, or drop --from and --consumer",
          exitCode: ExitCode.usage,
        });
      }
      const pattern = (await import("../../proto/pattern/mod.ts")).compilePattern(flags.pattern);
      if (!pattern.valid) {
        // A C broker would accept it and never deliver: refuse it before connecting.
        throw new CliError("CLI_USAGE", `invalid --pattern ${JSON.stringify(flags.pattern)}: ${pattern.error}`, {
          hint: "see docs/patterns.md for the pattern syntax",
          exitCode: ExitCode.usage,
        });
      }
      context.exitCode = await (await import("../actions/recv.ts")).runRecv(flags, context);
    });
}
