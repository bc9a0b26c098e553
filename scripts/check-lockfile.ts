/** Fails (exit 1) when `npm install` would change the committed package-lock.json. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lockfileDrift } from "./lockfile-drift.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
try {
  const drift = lockfileDrift(root);
  if (drift.length > 0) {
    console.error(`package-lock.json is out of sync with package.json; npm install would change ${drift.join(", ")}. Run npm install and commit the lockfile.`);
    process.exitCode = 1;
  } else console.log("package-lock.json is in sync with package.json");
} catch (err) {
  const e = err as { stderr?: string; message: string };
  console.error(`lockfile check failed: ${e.message}\n${e.stderr ?? ""}`);
  process.exitCode = 1;
}
