import { Command, Option } from "commander";
import type { CommandContext } from "../context.ts";
import { addClientOptions, integer } from "../options.ts";
import type { ClientFlags } from "../options.ts";

/** Parsed options of `malamute stat`. */
export interface StatFlags extends ClientFlags {
  json?: boolean;
  wait: number;
}

/**
 * `malamute stat`: ask the broker's admin service for its state and print it.
 *
 * @example
 * ```ts
 * program.addCommand(statCommand(context));
 * ```
 */
export function statCommand(context: CommandContext): Command {
  return addClientOptions(
    new Command("stat")
      .description("show the broker's clients, mailboxes, streams, services and counters")
      .addOption(new Option("--json", "print the raw statistics as JSON"))
      .addOption(new Option("--wait <ms>", "how long to wait for the broker's answer").default(5000).argParser(integer({ min: 1 }))),
  )
    .addHelpText("after", `
Examples:
  $ malamute stat
  $ malamute stat --endpoint tcp://10.0.0.5:9999 --json | jq .services`)
    .action(async (flags: StatFlags) => {
      context.exitCode = await (await import("../actions/stat.ts")).runStat(flags, context);
    });
}
