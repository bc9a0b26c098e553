import { Command, CommanderError } from "commander";
import { brokerCommand } from "./commands/broker.ts";
import { callCommand } from "./commands/call.ts";
import { keygenCommand } from "./commands/keygen.ts";
import { recvCommand } from "./commands/recv.ts";
import { sendCommand } from "./commands/send.ts";
import { statCommand } from "./commands/stat.ts";
import type { CommandContext } from "./context.ts";
import { describeFailure, ExitCode } from "./errors.ts";
import { processIo } from "./io.ts";
import type { CliIo } from "./io.ts";
import { VERSION } from "./version.ts";

/**
 * Run the `malamute` command line with `argv` (the arguments after the program name) and
 * resolve with the process exit code. Never throws and never prints a stack trace: every
 * failure becomes one line on stderr that says what to do (set MALAMUTE_DEBUG=1 for the stack).
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * process.exitCode = await main(["stat", "--endpoint", "tcp://127.0.0.1:9999"]);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const context: CommandContext = { io, exitCode: ExitCode.ok };
  let failedCommand = "";
  const program = buildProgram(context, (name) => (failedCommand = name));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error, failedCommand, io);
    const { line, exitCode } = describeFailure(error);
    io.stderr(line + "\n");
    if (io.env.MALAMUTE_DEBUG) io.stderr(`${(error as Error).stack ?? String(error)}\n`);
    return exitCode;
  }
}

function buildProgram(context: CommandContext, onError: (command: string) => void): Command {
  const { io } = context;
  const program = new Command("malamute")
    .description("Run a Malamute (MLM) broker and talk to it: send, receive, call services, inspect state.")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: () => onError("malamute"),
    })
    .addHelpText("after", `
Commands that talk to a broker find it with --endpoint, or MALAMUTE_ENDPOINT, or tcp://127.0.0.1:9999.

Examples:
  $ malamute broker --bind tcp://127.0.0.1:9999
  $ malamute recv --mailbox alice --json
  $ malamute send --to alice greeting "hello"
  $ malamute call images.resize '{"width": 256}'
  $ malamute stat
  $ malamute keygen --out broker
  $ malamute send --help`);

  // Subcommands are built standalone and added with addCommand, so each keeps its own output
  // configuration: that is how a parse error knows which command's --help to point at.
  for (const build of [brokerCommand, sendCommand, recvCommand, callCommand, statCommand, keygenCommand]) {
    const command = build(context);
    command
      .helpOption("-h, --help", "show help")
      .showSuggestionAfterError(true)
      .exitOverride()
      .allowExcessArguments(false)
      .configureOutput({
        writeOut: (text) => io.stdout(text),
        writeErr: (text) => io.stderr(text),
        outputError: () => onError(command.name()),
      });
    program.addCommand(command);
  }
  return program;
}

function commanderExit(error: CommanderError, command: string, io: CliIo): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return ExitCode.ok;
  // A bare `malamute` prints the help (to stderr) and fails: there was nothing to do.
  if (error.code === "commander.help") return ExitCode.usage;
  const what = error.message
    .replace(/^error:\s*/, "")
    .replace(/ is invalid\. /, " is invalid: ")
    .replace(/\s*\n\s*/g, " ")
    .replace(/\.$/, "")
    .trim();
  const where = command === "" || command === "malamute" ? "malamute" : `malamute ${command}`;
  io.stderr(`malamute: ${what}; run \`${where} --help\` for usage\n`);
  return ExitCode.usage;
}
