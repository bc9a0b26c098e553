import { createHash } from "node:crypto";
import { ConfirmStatus } from "../../broker/status.ts";
import { DASHBOARD_JS } from "./script.ts";
import { DASHBOARD_CSS } from "./style.ts";
import { UPLOT_CSS, UPLOT_JS } from "./uplot.generated.ts";

/**
 * Options of {@link dashboardHtml}.
 *
 * @example
 * ```ts
 * const html = dashboardHtml({ eventsPath: "/admin/api/events", streams: ["forge.events", "audit"] });
 * ```
 */
export interface DashboardOptions {
  /** Where the page finds the Server-Sent Events feed. Default `"api/events"` (relative, so a prefix mount works). */
  eventsPath?: string;
  /** Streams whose messages the page asks for; `?streams=` on the page's own URL overrides it. Default `["forge.events"]`. */
  streams?: string[];
  /** Shown in the header and the tab. Default `"malamute"`. */
  title?: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Failure CONFIRM codes by name ("301": "expired"), so the page labels the failures it counts. */
const STATUS_NAMES = JSON.stringify(Object.fromEntries(
  Object.entries(ConfirmStatus).filter(([, code]) => code >= 300).map(([name, code]) => [code, name.toLowerCase().replace(/_/g, " ")]),
));

/** The page's inline elements: the Content-Security-Policy names each by its hash. */
const INLINE = { styles: [UPLOT_CSS, DASHBOARD_CSS], scripts: [UPLOT_JS, DASHBOARD_JS] };

const table = (id: string, columns: string[]) =>
  `<table id="${id}"><thead><tr>${columns.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody></tbody></table>`;

/**
 * The live dashboard: one self-contained HTML document (inline CSS and JS, uPlot vendored, no
 * network access but the events feed) that the HTTP admin server serves at `GET /` with
 * `content-type: text/html; charset=utf-8`. It shows services with their workers (busy/idle),
 * queue depth and calls/s over the last 5 minutes, p50/p99 queue wait and round trip, failures
 * by code, clients, streams with their readers, broker memory and a live list of Forge jobs.
 *
 * @example
 * ```ts
 * app.get("/", (c) => c.html(dashboardHtml()));
 * ```
 */
export function dashboardHtml(options: DashboardOptions = {}): string {
  const title = escapeHtml(options.title ?? "malamute");
  const events = escapeHtml(options.eventsPath ?? "api/events");
  const streams = escapeHtml((options.streams ?? ["forge.events"]).join(","));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} dashboard</title>
<link rel="icon" href="data:,">
${INLINE.styles.map((css) => `<style>${css}</style>`).join("\n")}
</head>
<body data-events="${events}" data-streams="${streams}" data-statuses="${escapeHtml(STATUS_NAMES)}">
<header><h1>${title}</h1><span id="status" class="down">connecting…</span><span id="updated" class="dim"></span><span id="streams-selected" class="dim"></span><span id="dropped" class="dim"></span></header>
<main>
<section class="wide"><h2>Broker</h2><div id="summary"></div></section>
<section><h2>Queue depth</h2><div id="depth-chart"></div></section>
<section><h2>Calls per second</h2><div id="rate-chart"></div></section>
<section class="wide"><h2>Services</h2>${table("services", ["service", "workers", "busy", "idle", "", "queued", "in flight", "calls", "calls/s", "wait p50", "wait p99", "rtt p50", "rtt p99", "failures"])}</section>
<section class="wide"><h2>Jobs</h2>${table("jobs", ["job", "method", "backend", "state", "progress", "time", "error"])}<div id="jobs-other" class="dim"></div></section>
<section><h2>Failures by code</h2>${table("failures", ["code", "count"])}</section>
<section><h2>Streams</h2>${table("streams", ["stream", "readers", "writers", "head", "reader addresses"])}</section>
<section class="wide"><h2>Clients</h2>${table("clients", ["address", "connection", "role", "credit", "in flight", "buffered", "idle", "state"])}<div id="clients-more" class="dim"></div></section>
</main>
${INLINE.scripts.map((js) => `<script>${js}</script>`).join("\n")}
</body>
</html>
`;
}

let csp: string | undefined;

/**
 * The Content-Security-Policy to send with {@link dashboardHtml}: the page may run only its own
 * inline scripts and styles (by SHA-256 hash), connect only to its own origin (the events
 * feed), and load nothing else. A second guard behind the page's escaping of server data.
 *
 * @example
 * ```ts
 * app.get("/", (c) => c.html(dashboardHtml(), 200, { "content-security-policy": dashboardCsp() }));
 * ```
 */
export function dashboardCsp(): string {
  const hashes = (texts: string[]) => texts.map((t) => `'sha256-${createHash("sha256").update(t, "utf8").digest("base64")}'`).join(" ");
  csp ??= [
    "default-src 'none'",
    `script-src ${hashes(INLINE.scripts)}`,
    `style-src ${hashes(INLINE.styles)}`,
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return csp;
}
