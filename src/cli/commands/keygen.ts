import { Command, Option } from "commander";
import type { CommandContext } from "../context.ts";

/** Parsed options of `malamute keygen`. */
export interface KeygenFlags {
  out?: string;
  name?: string;
}

/**
 * `malamute keygen`: make a CURVE key pair; print it, or save it as czmq `zcert` files.
 *
 * @example
 * ```ts
 * program.addCommand(keygenCommand(context));
 * ```
 */
export function keygenCommand(context: CommandContext): Command {
  return new Command("keygen")
    .description("make a CURVE key pair: print both keys (Z85), or save them as certificate files with --out")
    .addOption(new Option("-o, --out <name>", "write NAME (public certificate) and NAME_secret (both keys, mode 0600), as czmq's zcert_save does"))
    .addOption(new Option("--name <text>", "with --out: a `name` entry in the certificates' metadata"))
    .addHelpText("after", `
The files are czmq zcert certificates (ZPL): libzmq/czmq tools, pyzmq's zmq.auth.load_certificate
and malamute's --curve-keys / --curve-server-key read them. Existing files are never overwritten.

Examples:
  $ malamute keygen
  $ malamute keygen --out broker && malamute broker --curve-keys broker
  $ malamute send --curve-server-key broker --to alice hi "there"`)
    .action(async (flags: KeygenFlags) => {
      context.exitCode = await (await import("../actions/keygen.ts")).runKeygen(flags, context);
    });
}
