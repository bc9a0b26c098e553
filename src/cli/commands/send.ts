import { Command, Option } from "commander";
import type { CommandContext } from "../context.ts";
import { addClientOptions, exactlyOne, integer } from "../options.ts";
import type { ClientFlags } from "../options.ts";

/** Parsed options of `malamute send`. */
export interface SendFlags extends ClientFlags {
  to?: string;
  service?: string;
  stream?: string;
  tracker?: string;
  ttl?: number;
  confirm?: boolean;
  durable?: boolean;
  wait: number;
  lines?: boolean;
}

/**
 * `malamute send`: one message (or one per stdin line) to a mailbox, a service or a stream.
 *
 * @example
 * ```ts
 * program.addCommand(sendCommand(context));
 * ```
 */
export function sendCommand(context: CommandContext): Command {
  return addClientOptions(
    new Command("send")
      .description("send a message to a mailbox (--to), a service (--service) or a stream (--stream)")
      .argument("<subject>", "the message subject")
      .argument("[content...]", "content frames: text, @file for a file's bytes, - for stdin, @@text for a literal @")
      .addOption(new Option("--to <address>", "deliver to this mailbox"))
      .addOption(new Option("--service <name>", "send a request to this service"))
      .addOption(new Option("--stream <name>", "publish on this stream"))
      .addOption(new Option("--tracker <id>", "tracker for a mailbox or service message"))
      .addOption(new Option("--ttl <ms>", "discard the message if still queued after this long").argParser(integer({ min: 1 })))
      .addOption(new Option("--confirm", "wait until the message is confirmed (delivered or refused); exit 1 if refused"))
      .addOption(new Option("--durable", "wait until the broker has stored the message (on disk, as its fsync policy promises); exit 1 if it could not"))
      .addOption(new Option("--wait <ms>", "how long --confirm and --durable wait").default(10000).argParser(integer({ min: 1 })))
      .addOption(new Option("--lines", "send one message per line of standard input (content = the line)")),
  )
    .addHelpText("after", `
Examples:
  $ malamute send --to alice greeting "hello, alice"
  $ malamute send --to alice photo "image/png" @photo.png
  $ malamute send --service images resize - < request.json
  $ malamute send --stream weather london.temp "12.5"
  $ tail -f app.log | malamute send --stream logs --lines app.line
  $ malamute send --service billing invoice @invoice.json --confirm
  $ malamute send --to archive report @report.pdf --durable`)
    .action(async (subject: string, content: string[], flags: SendFlags) => {
      exactlyOne(flags, ["to", "service", "stream"], "send");
      context.exitCode = await (await import("../actions/send.ts")).runSend(subject, content, flags, context);
    });
}
