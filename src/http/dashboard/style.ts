/**
 * The dashboard's stylesheet: a dark, dense operator view that needs no fonts or images.
 *
 * @example
 * ```ts
 * const html = `<style>${DASHBOARD_CSS}</style>`;
 * ```
 */
export const DASHBOARD_CSS: string = `
:root { color-scheme: dark; --bg: #12161c; --panel: #1a2029; --line: #262c36; --fg: #d8dee9; --dim: #8a94a3; --ok: #41c47b; --bad: #e5484d; --busy: #f5a524; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 13px/1.4 system-ui, sans-serif; }
header { display: flex; align-items: baseline; gap: 16px; padding: 10px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
header .dim, .dim { color: var(--dim); }
#status.live { color: var(--ok); } #status.down { color: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; padding: 12px 16px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; overflow-x: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); margin: 0 0 8px; }
#summary { display: flex; flex-wrap: wrap; gap: 8px 22px; }
.fact .v { font-size: 18px; font-variant-numeric: tabular-nums; margin-right: 6px; }
.fact .k { color: var(--dim); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--dim); font-weight: normal; }
td.empty { color: var(--dim); font-style: italic; }
td.error, td.failures { color: var(--bad); white-space: normal; }
.bar { width: 60px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; }
.bar .fill { height: 100%; background: var(--busy); }
tr.job-completed td.kind { color: var(--ok); } tr.job-failed td.kind, tr.job-cancelled td.kind { color: var(--bad); }
tr.job-started td.kind, tr.job-progress td.kind { color: var(--busy); }
progress { width: 80px; vertical-align: middle; }
.uplot { font-family: inherit; } .u-legend { font-size: 11px; } .u-title { display: none; }
`;
