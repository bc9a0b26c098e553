import { Command, Option } from "commander";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { LOG_LEVELS } from "../log.ts";
import type { LogLevel } from "../log.ts";
import { collect, endpointArg, integer, transportOption } from "../options.ts";

/** Parsed options of `malamute broker`. */
export interface BrokerFlags {
  config?: string;
  bind?: string[];
  transport: "zmtp" | "zeromq";
  timeout?: number;
  logLevel: LogLevel;
  verbose?: boolean;
  json?: boolean;
}

/**
 * `malamute broker`: run a broker in the foreground until SIGINT or SIGTERM.
 *
 * @example
 * ```ts
 * program.addCommand(brokerCommand(context));
 * ```
 */
export function brokerCommand(context: CommandContext): Command {
  return new Command("broker")
    .description("run a Malamute broker in the foreground; SIGINT or SIGTERM stops it gracefully")
    .addOption(new Option("-c, --config <file>", "load a config file in the C malamute ZPL format (malamute.cfg)"))
    .addOption(
      new Option("-b, --bind <endpoint>", "listen on an endpoint (repeatable; default tcp://127.0.0.1:9999)")
        .argParser(collect(endpointArg)),
    )
    .addOption(transportOption())
    .addOption(new Option("--timeout <ms>", "drop a client silent for this long (server/timeout)").argParser(integer({ min: 1 })))
    .addOption(new Option("--log-level <level>", "least severe log level written").choices(LOG_LEVELS).default("info"))
    .addOption(new Option("-v, --verbose", "same as --log-level debug"))
    .addOption(new Option("--json", "write log lines as JSON objects, for log shippers"))
    .addHelpText("after", `
Options given on the command line override the config file. Logs go to stderr.

Examples:
  $ malamute broker
  $ malamute broker --bind tcp://0.0.0.0:9999 --bind tcp://127.0.0.1:9998
  $ malamute broker --config /etc/malamute/malamute.cfg --json 2>>broker.log
  $ malamute broker --timeout 10000 --log-level warn`)
    .action(async (flags: BrokerFlags) => {
      context.exitCode = await runBroker(flags, context);
    });
}

async function runBroker(_flags: BrokerFlags, _context: CommandContext): Promise<number> {
  throw new CliError("CLI_UNAVAILABLE", "`malamute broker` is not available in this build yet");
}
