import { Command, Option } from "commander";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { addClientOptions, integer } from "../options.ts";
import type { ClientFlags } from "../options.ts";

/** Parsed options of `malamute call`. */
export interface CallFlags extends ClientFlags {
  contract?: string;
  deadline: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  stream?: boolean;
}

/**
 * `malamute call service.method '{json}'`: one RPC call, with progress and the result printed.
 *
 * @example
 * ```ts
 * program.addCommand(callCommand(context));
 * ```
 */
export function callCommand(context: CommandContext): Command {
  return addClientOptions(
    new Command("call")
      .description("call an RPC method and print its result")
      .argument("<service.method>", "the service and the method, joined by the last dot")
      .argument("[input]", "the input as JSON, @file.json, or - for stdin (default: {})")
      .addOption(new Option("--contract <file>", "module exporting the service's contract, or the .json document contract.toJsonSchema() writes (no TypeScript loader needed): validates and types the input"))
      .addOption(new Option("--deadline <ms>", "give up after this long").default(30000).argParser(integer({ min: 1 })))
      .addOption(new Option("-o, --out <dir>", "save binary fields of the result in this folder (default: show their size and first bytes)"))
      .addOption(new Option("--json", "print the result as one line of JSON"))
      .addOption(new Option("-q, --quiet", "do not show progress"))
      .addOption(new Option("--stream", "the method streams its results (without --contract); print one JSON line per chunk")),
  )
    .addHelpText("after", `
Without --contract the input is sent as-is (JSON → msgpack) and the result is shown as JSON.
In the input, {"$file": "cat.png"} stands for that file's bytes and {"$base64": "..."} for
decoded bytes. Binary fields of the result are shown as {"size": n, "hex": first bytes}; with
--out DIR they are saved as DIR/<method>.<field>.bin (replacing an earlier one) and shown as
{"$file": path, "size": n}. Progress goes to stderr; Ctrl-C cancels the call on the worker.

Examples:
  $ malamute call echo.say '{"text": "hi"}'
  $ malamute call vision.describe '{"image": {"$file": "cat.jpg"}}' --deadline 60000
  $ malamute call llm.tokens '{"prompt": "hi"}' --stream
  $ malamute call images.resize @request.json --contract ./contracts/images.ts --out ./results
  $ echo '{"prompt": "a malamute"}' | malamute call forge.generate - --deadline 120000`)
    .action(async (target: string, input: string | undefined, flags: CallFlags) => {
      splitTarget(target); // usage errors before loading the RPC stack
      context.exitCode = await (await import("../actions/call.ts")).runCall(target, input, flags, context);
    });
}

/**
 * Split `service.method` at the last dot (service names may contain dots).
 *
 * @example
 * ```ts
 * splitTarget("forge.images.resize"); // { service: "forge.images", method: "resize" }
 * ```
 */
export function splitTarget(target: string): { service: string; method: string } {
  const dot = target.lastIndexOf(".");
  if (dot <= 0 || dot === target.length - 1) {
    throw new CliError("CLI_USAGE", `"${target}" is not service.method`, {
      hint: "write the service name, a dot and the method, e.g. `malamute call echo.say '{}'`",
      exitCode: ExitCode.usage,
    });
  }
  return { service: target.slice(0, dot), method: target.slice(dot + 1) };
}
