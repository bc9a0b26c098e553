// How to run a JavaScript file with the runtime running the tests.
import process from "node:process";

interface DenoLike { execPath(): string }

/** Command and arguments that run `script` on the current runtime (node, bun or deno). */
export function runScript(script: string): { command: string; args: string[] } {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno) return { command: deno.execPath(), args: ["run", "-A", script] };
  return { command: process.execPath, args: [script] };
}

/** The runtime's name, for messages. */
export const runtimeName: string = (globalThis as { Deno?: unknown }).Deno ? "deno" : (globalThis as { Bun?: unknown }).Bun ? "bun" : "node";
