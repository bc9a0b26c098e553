/**
 * Preloaded into the soak's broker child (`node --expose-gc --import tsx --import
 * bench/lib-soak-probe.ts src/broker/main.ts ...`): on SIGUSR2 it runs a full GC and writes
 * one `SOAK_MEM {...}` line with `process.memoryUsage()` to stderr. The broker itself knows
 * nothing of it; this only lets the soak read heap figures that /proc cannot give.
 */
import process from "node:process";

const gc = (globalThis as { gc?: () => void }).gc;
process.on("SIGUSR2", () => {
  gc?.();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.stderr.write(`SOAK_MEM ${JSON.stringify({ rss, heapUsed, external, arrayBuffers })}\n`);
});
