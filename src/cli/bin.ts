#!/usr/bin/env node
// The `malamute` executable: Node runs dist/src/cli/bin.js (package.json "bin"); Bun and Deno
// run this file from source. It only forwards to main() and exits with its code.
import { processIo } from "./io.ts";
import { main } from "./main.ts";

const io = processIo();
const code = await main(process.argv.slice(2), io);
await io.flush();
// Exit explicitly: a half-closed socket or a pending stdin read must not keep the process alive.
process.exit(code);
