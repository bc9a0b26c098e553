import { Command, Option } from "commander";
import type { BrokerLimits } from "../../broker/types.ts";
import type { CommandContext } from "../context.ts";
import { LOG_LEVELS } from "../log.ts";
import type { LogLevel } from "../log.ts";
import { collect, countOrMax, endpointArg, integer, parseSize, transportOption } from "../options.ts";

/** Parsed options of `malamute broker`. */
export interface BrokerFlags extends Partial<BrokerLimits> {
  config?: string;
  bind?: string[];
  transport: "zmtp" | "zeromq";
  timeout?: number;
  logLevel: LogLevel;
  verbose?: boolean;
  json?: boolean;
  dataDir?: string;
  fsync?: "always" | "interval" | "never";
  http?: string;
  curveKeys?: string;
}

/** Limit flags: [option, BrokerLimits key, what it bounds, parser]. Names follow the limit keys. */
export const LIMIT_FLAGS: Array<[flag: string, key: keyof BrokerLimits, help: string, parse: (value: string) => number]> = [
  ["--max-connections <n>", "maxConnections", "connections at once", countOrMax],
  ["--max-message-size <size>", "maxMessageSize", "content bytes of one message", parseSize],
  ["--mailbox-messages <n>", "mailboxMessages", "messages stored per mailbox", countOrMax],
  ["--mailbox-bytes <size>", "mailboxBytes", "content bytes stored per mailbox", parseSize],
  ["--service-queue-messages <n>", "serviceQueueMessages", "requests queued per service", countOrMax],
  ["--service-queue-bytes <size>", "serviceQueueBytes", "content bytes queued per service", parseSize],
  ["--stream-buffer-messages <n>", "streamBufferMessages", "deliveries buffered per stream reader without credit", countOrMax],
  ["--stream-buffer-bytes <size>", "streamBufferBytes", "content bytes buffered per such reader", parseSize],
  ["--max-malformed <n>", "maxMalformed", "malformed messages before a connection is cut", countOrMax],
  ["--pending-confirms <n>", "pendingConfirms", "tracked deliveries awaiting CONFIRM per connection", countOrMax],
];

/**
 * `malamute broker`: run a broker in the foreground until SIGINT or SIGTERM.
 *
 * @example
 * ```ts
 * program.addCommand(brokerCommand(context));
 * ```
 */
export function brokerCommand(context: CommandContext): Command {
  const command = new Command("broker")
    .description("run a Malamute broker in the foreground; SIGINT or SIGTERM stops it gracefully")
    .addOption(new Option("-c, --config <file>", "load a config file in the C malamute ZPL format (malamute.cfg)"))
    .addOption(
      new Option("-b, --bind <endpoint>", "listen on an endpoint (repeatable; default tcp://127.0.0.1:9999)")
        .argParser(collect(endpointArg)),
    )
    .addOption(transportOption())
    .addOption(new Option("--timeout <ms>", "drop a client silent for this long (server/timeout; default 10000)").argParser(integer({ min: 1 })))
    .addOption(new Option("--log-level <level>", "least severe log level written").choices(LOG_LEVELS).default("info"))
    .addOption(new Option("-v, --verbose", "same as --log-level debug"))
    .addOption(new Option("--json", "write log lines as JSON objects, for log shippers"))
    .addOption(new Option("--data-dir <dir>", "keep mailboxes, service queues and stream journals in this directory (survive restarts; replay)"))
    .addOption(new Option("--http <host:port>", "serve /metrics, the admin API and /api/events over HTTP here (off by default; credentials: mlm_server/http in the config file)"))
    .addOption(new Option("--curve-keys <file>", "encrypt every connection with ZMTP CURVE using this key pair (from `malamute keygen --out`); any client key is admitted"))
    .addOption(new Option("--fsync <policy>", "with --data-dir: when writes are forced to disk (default interval)").choices(["always", "interval", "never"]));
  for (const [flag, key, help, parse] of LIMIT_FLAGS) {
    // Commander names the value after the flag (--mailbox-bytes → mailboxBytes), i.e. the limit key.
    const option = new Option(flag, `limit: ${help}`).argParser(parse);
    if (option.attributeName() !== key) throw new Error(`${flag} does not map to ${key}`);
    command.addOption(option);
  }
  return command
    .addHelpText("after", `
Options given on the command line override the config file. Sizes take units (64KiB, 10MB)
or "max"; counts take "max" too. Logs go to stderr; --json makes them one JSON object a line.

Examples:
  $ malamute broker
  $ malamute broker --bind tcp://0.0.0.0:9999 --bind tcp://127.0.0.1:9998
  $ malamute broker --config /etc/malamute/malamute.cfg --json 2>>broker.log
  $ malamute broker --data-dir /var/lib/malamute --fsync always
  $ malamute broker --http 127.0.0.1:8222   # then: curl http://127.0.0.1:8222/metrics
  $ malamute keygen --out broker && malamute broker --curve-keys broker
  $ malamute broker --timeout 30000 --mailbox-bytes 256MiB --max-message-size 16MB`)
    .action(async (flags: BrokerFlags) => {
      context.exitCode = await (await import("../actions/broker.ts")).runBroker(flags, context);
    });
}
