// Drives the dashboard in Debian's headless Chromium (puppeteer-core). Run under Node only
// (`node --import tsx tests/http/dashboard-browser-run.ts`), spawned by
// dashboard-browser.test.ts so the check is the same under bun, deno and node. Prints one
// JSON line {ok, steps, errors}; exits 0 when every check passed, 1 otherwise, 2 without Chromium.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer, { type Page } from "puppeteer-core";
import { brokerScenario } from "./dashboard-scenarios.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Each change must be on the page within this long (the issue asks for 2 s). */
const WITHIN_MS = 2000;

async function waitFor(page: Page, step: string, selector: string, text: (t: string) => boolean, steps: string[]) {
  const started = Date.now();
  for (;;) {
    const found = await page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ""));
    if (found.some(text)) break;
    if (Date.now() - started > WITHIN_MS) throw new Error(`${step}: ${selector} not as expected within ${WITHIN_MS} ms (saw ${JSON.stringify(found)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  steps.push(`${step} (${Date.now() - started} ms)`);
}

async function main(): Promise<number> {
  if (!existsSync(CHROMIUM)) {
    console.log(JSON.stringify({ ok: false, errors: [`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`] }));
    return 2;
  }
  const scenario = await brokerScenario();
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const errors: string[] = [];
  const steps: string[] = [];
  let ok = false;
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => errors.push(`page: ${e instanceof Error ? e.message : String(e)}`));
    page.on("dialog", (d) => { errors.push(`dialog: ${d.message()}`); void d.dismiss(); });
    page.on("requestfailed", (r) => { if (!r.url().includes("/api/events")) errors.push(`request failed: ${r.url()}`); });
    await page.goto(scenario.url, { waitUntil: "load" });
    await waitFor(page, "feed live", "#status", (t) => t === "live", steps);
    await waitFor(page, "first snapshot", "#summary [data-fact=clients] .v", () => true, steps);
    const svc = scenario.service;
    await scenario.connectWorker();
    await waitFor(page, "worker appears", `#services tr[data-service="${svc}"] td.workers`, (t) => t === "1", steps);
    await scenario.queueCall();
    await waitFor(page, "queue grows", `#services tr[data-service="${svc}"] td.queued`, (t) => Number(t) >= 1, steps);
    await scenario.drainQueue();
    await waitFor(page, "queue drains", `#services tr[data-service="${svc}"] td.queued`, (t) => t === "0", steps);
    await waitFor(page, "calls counted", `#services tr[data-service="${svc}"] td.calls`, (t) => Number(t) >= 1, steps);
    await scenario.failJob();
    await waitFor(page, "failed job", `#jobs tr[data-kind="failed"] td.error`, (t) => t.length > 0, steps);
    if (await page.$("#jobs img")) throw new Error("a server string became markup in the jobs table");
    await waitFor(page, "failure by code", "#failures td.code", (t) => /^30\d [a-z]/.test(t), steps);
    await waitFor(page, "client listed", "#clients td.address", (t) => t === scenario.workerAddress, steps);
    // Let the charts gather a few points before the picture.
    await new Promise((r) => setTimeout(r, 2500));
    const charts = await page.$$eval(".uplot canvas", (els) => els.length);
    if (charts < 2) throw new Error(`expected 2 uPlot charts, found ${charts}`);
    steps.push(`charts drawn (${charts})`);
    mkdirSync(join(root, "out"), { recursive: true });
    await page.screenshot({ path: join(root, "out/dashboard.png"), fullPage: true });
    steps.push("screenshot out/dashboard.png");
    ok = errors.length === 0;
  } catch (err) {
    errors.push(err instanceof Error ? err.message : String(err));
  } finally {
    await browser.close();
    await scenario.close();
  }
  console.log(JSON.stringify({ ok, steps, errors }));
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.log(JSON.stringify({ ok: false, errors: [String(err?.stack ?? err)] }));
  process.exit(1);
});
