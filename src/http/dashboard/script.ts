/**
 * The dashboard's browser code, plain ES2020 kept as a string so the page ships as one
 * document with no build step. It reads `/api/events` (format in the http module's SSE docs)
 * and builds every element with createElement/textContent: nothing the server sends is ever
 * parsed as HTML. Written without backticks or `${` so it can live in a raw template literal.
 *
 * @example
 * ```ts
 * const html = `<script>${DASHBOARD_JS}</script>`;
 * ```
 */
export const DASHBOARD_JS: string = String.raw`
"use strict";
(() => {
  const HISTORY = 300;        // seconds of chart history (5 minutes at one snapshot a second)
  const CHART_SERVICES = 8;   // services drawn beside the total; the tables list all of them
  const MAX_JOBS = 200;
  const MAX_CLIENT_ROWS = 200;
  const COLORS = ["#e8e8e8", "#4e9cf5", "#f5a524", "#41c47b", "#e5484d", "#a47bf5", "#3cc6c6", "#f57bc0", "#b5b53c"];

  const STATUS = JSON.parse(document.body.dataset.statuses || "{}");
  const failureLabel = (code) => (STATUS[code] ? code + " " + STATUS[code] : code);
  const $ = (id) => document.getElementById(id);
  /** Builds an element; text goes through textContent only. */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function row(cells, attrs) {
    const tr = el("tr");
    for (const c of cells) {
      if (c instanceof Node) { const td = el("td"); td.appendChild(c); tr.appendChild(td); }
      else if (Array.isArray(c)) tr.appendChild(el("td", c[0], c[1]));
      else tr.appendChild(el("td", null, c));
    }
    if (attrs) for (const k in attrs) tr.dataset[k] = attrs[k];
    return tr;
  }
  function emptyRow(cols, text) {
    const td = el("td", "empty", text);
    td.colSpan = cols;
    const tr = el("tr");
    tr.appendChild(td);
    return tr;
  }
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : 0);
  const ms = (v) => (typeof v === "number" && isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) + " ms" : "–");
  function bytes(v) {
    v = num(v);
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + " " + units[i];
  }
  const str = (v) => (typeof v === "string" ? v : "");

  // ---- charts -------------------------------------------------------------
  const history = { times: [], depth: new Map(), rate: new Map() };
  let prev = null; // { time, calls: Map }
  const charts = { depth: null, rate: null, key: "", width: 0 };

  function pushPoint(series, name, value, length) {
    let values = series.get(name);
    if (!values) { values = new Array(length - 1).fill(null); series.set(name, values); }
    values.push(value);
  }
  function record(time, services) {
    history.times.push(time / 1000);
    const n = history.times.length;
    const calls = new Map();
    let depth = 0, rate = 0, dt = prev ? (time - prev.time) / 1000 : 0;
    const seen = new Set();
    for (const s of services) {
      const name = str(s.name);
      seen.add(name);
      calls.set(name, num(s.calls));
      const r = prev && dt > 0 && prev.calls.has(name) ? Math.max(0, (num(s.calls) - prev.calls.get(name)) / dt) : null;
      depth += num(s.queued);
      rate += r || 0;
      pushPoint(history.depth, name, num(s.queued), n);
      pushPoint(history.rate, name, r, n);
    }
    pushPoint(history.depth, "", depth, n);
    pushPoint(history.rate, "", prev ? rate : null, n);
    for (const series of [history.depth, history.rate]) {
      for (const [name, values] of series) {
        if (name !== "" && !seen.has(name)) values.push(null);
        if (values.length > HISTORY) values.splice(0, values.length - HISTORY);
        if (name !== "" && values.every((v) => v === null)) series.delete(name);
      }
    }
    if (history.times.length > HISTORY) history.times.splice(0, history.times.length - HISTORY);
    prev = { time, calls };
  }
  function chartNames() {
    return [...history.depth.keys()].filter((k) => k !== "").sort().slice(0, CHART_SERVICES);
  }
  function makeChart(holder, names, unit) {
    holder.replaceChildren();
    if (typeof uPlot !== "function") return null;
    const axis = { stroke: "#9aa4b2", grid: { stroke: "#262c36" }, ticks: { stroke: "#262c36" } };
    return new uPlot({
      width: Math.max(240, holder.clientWidth), height: 180,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      legend: { live: false },
      series: [{}].concat(["total"].concat(names).map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: i ? 1.5 : 2, dash: i ? undefined : [4, 4], value: (u, v) => (v === null ? "–" : v.toFixed(1) + unit) }))),
      axes: [axis, Object.assign({ size: 50 }, axis)],
    }, [[]], holder);
  }
  function drawCharts() {
    const names = chartNames();
    const key = names.join("\u0000");
    const width = $("depth-chart").clientWidth;
    if (key !== charts.key || Math.abs(width - charts.width) > 20) {
      charts.key = key;
      charts.width = width;
      if (charts.depth) charts.depth.destroy();
      if (charts.rate) charts.rate.destroy();
      charts.depth = makeChart($("depth-chart"), names, "");
      charts.rate = makeChart($("rate-chart"), names, "/s");
    }
    const data = (series) => [history.times].concat(["", ...names].map((n) => series.get(n) || history.times.map(() => null)));
    if (charts.depth) charts.depth.setData(data(history.depth));
    if (charts.rate) charts.rate.setData(data(history.rate));
  }

  // ---- tables -------------------------------------------------------------
  function renderServices(services) {
    const body = $("services").tBodies[0];
    const rows = [];
    const failures = new Map();
    for (const s of [...services].sort((a, b) => str(a.name).localeCompare(str(b.name)))) {
      const name = str(s.name);
      const workers = num(s.workers), busy = num(s.busy);
      const bar = el("div", "bar");
      const fill = el("div", "fill");
      fill.style.width = (workers ? Math.round((100 * busy) / workers) : 0) + "%";
      bar.appendChild(fill);
      const codes = [];
      for (const [code, n] of Object.entries(s.failures || {})) {
        codes.push(failureLabel(code) + " ×" + num(n));
        failures.set(code, (failures.get(code) || 0) + num(n));
      }
      const rate = history.rate.get(name);
      const last = rate ? rate[rate.length - 1] : null;
      rows.push(row([
        ["name", name], ["workers", workers], ["busy", busy], ["idle", Math.max(0, workers - busy)], bar,
        ["queued", num(s.queued)], ["inflight", num(s.inflight)], ["calls", num(s.calls)],
        ["rate", last === null || last === undefined ? "–" : last.toFixed(1)],
        ms(s.queueWaitP50Ms), ms(s.queueWaitP99Ms), ms(s.roundTripP50Ms), ms(s.roundTripP99Ms),
        ["failures", codes.join(", ")],
      ], { service: name }));
    }
    body.replaceChildren(...(rows.length ? rows : [emptyRow(14, "no services")]));
    const fbody = $("failures").tBodies[0];
    const frows = [...failures].sort((a, b) => b[1] - a[1]).map(([code, n]) => row([["code", failureLabel(code)], ["count", n]], { code }));
    fbody.replaceChildren(...(frows.length ? frows : [emptyRow(2, "no failures")]));
  }
  function renderClients(stats) {
    const list = Array.isArray(stats.clientList) ? stats.clientList : [];
    const rows = list.slice(0, MAX_CLIENT_ROWS).map((c) => {
      const roles = [];
      for (const o of c.offers || []) roles.push("offers " + o);
      for (const r of c.reads || []) roles.push("reads " + r);
      if (c.writes) roles.push("writes " + c.writes);
      return row([
        ["address", str(c.address) || "(anonymous)"], str(c.conn), roles.join(", "),
        c.creditAware ? num(c.credit) : "∞", num(c.inflight), num(c.buffered),
        (num(c.idleMs) / 1000).toFixed(1) + " s", c.congested ? "congested" : c.opened ? "open" : "opening",
      ], { address: str(c.address) });
    });
    $("clients").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(8, "no clients")]));
    const total = num(stats.connections);
    $("clients-more").textContent = total > rows.length ? "showing " + rows.length + " of " + total + " connections" : "";
  }
  function renderStreams(stats) {
    const readers = new Map();
    for (const c of stats.clientList || []) for (const r of c.reads || []) {
      if (!readers.has(r)) readers.set(r, []);
      readers.get(r).push(str(c.address) || str(c.conn));
    }
    const journals = new Map((stats.journals || []).map((j) => [j.name, j]));
    const rows = (stats.streams || []).map((s) => {
      const j = journals.get(s.name);
      return row([["name", str(s.name)], ["readers", num(s.readers)], num(s.writers), j ? num(j.head) : "–", (readers.get(s.name) || []).join(", ")], { stream: str(s.name) });
    });
    $("streams").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(5, "no streams")]));
  }
  function renderSummary(snapshot) {
    const stats = snapshot.stats || {};
    const memory = snapshot.memory || {};
    const counters = stats.counters || {};
    const mailboxes = stats.mailboxes || [];
    const facts = [
      ["clients", num(stats.clients)], ["connections", num(stats.connections)],
      ["rss", bytes(memory.rss)], ["heap", bytes(memory.heapUsed)],
      ["mailboxes", mailboxes.length + " / " + bytes(mailboxes.reduce((a, m) => a + num(m.bytes), 0))],
      ["held", num(stats.held)], ["delivered", num(counters.delivered)], ["dropped", num(counters.dropped)],
      ["expired", num(counters.expired)], ["requeued", num(counters.requeued)], ["malformed", num(counters.malformed)],
    ];
    $("summary").replaceChildren(...facts.map(([k, v]) => {
      const d = el("div", "fact");
      d.dataset.fact = k;
      d.appendChild(el("span", "v", v));
      d.appendChild(el("span", "k", k));
      return d;
    }));
    $("updated").textContent = "updated " + new Date(num(snapshot.time)).toLocaleTimeString();
  }

  // ---- jobs ---------------------------------------------------------------
  const jobs = new Map();
  let otherMessages = 0;
  function onJob(msg) {
    const e = msg && msg.json;
    if (!e || typeof e !== "object" || typeof e.jobId !== "string" || typeof e.kind !== "string") {
      otherMessages++;
      $("jobs-other").textContent = otherMessages + " other stream messages";
      return;
    }
    let job = jobs.get(e.jobId);
    if (!job) {
      job = { id: e.jobId, started: num(e.at) || num(msg.time) };
      jobs.set(e.jobId, job);
      if (jobs.size > MAX_JOBS) jobs.delete(jobs.keys().next().value);
    }
    job.what = str(e.service) + "." + str(e.method);
    job.backend = str(e.backend);
    job.kind = e.kind;
    job.at = num(e.at) || num(msg.time);
    if (e.progress && typeof e.progress === "object") job.progress = e.progress;
    if (typeof e.durationMs === "number") job.durationMs = e.durationMs;
    if (e.error && typeof e.error === "object") job.error = str(e.error.code) + ": " + str(e.error.message);
    renderJobs();
  }
  function renderJobs() {
    const rows = [...jobs.values()].reverse().map((j) => {
      const p = j.progress;
      const cell = el("span");
      if (p && num(p.total) > 0) {
        const bar = el("progress");
        bar.max = num(p.total);
        bar.value = Math.min(num(p.done), num(p.total));
        cell.appendChild(bar);
        cell.appendChild(el("span", null, " " + num(p.done) + "/" + num(p.total) + (p.stage ? " " + str(p.stage) : "")));
      } else if (j.kind === "completed") cell.textContent = "done";
      const tr = row([
        ["id", j.id], j.what, j.backend, ["kind", j.kind], cell,
        j.durationMs === undefined ? ((Date.now() - j.started) / 1000).toFixed(1) + " s…" : (j.durationMs / 1000).toFixed(2) + " s",
        ["error", j.error || ""],
      ], { job: j.id, kind: j.kind });
      tr.className = "job-" + j.kind;
      return tr;
    });
    $("jobs").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(7, "no jobs yet")]));
  }

  // ---- feed ---------------------------------------------------------------
  function onStats(snapshot) {
    const services = Array.isArray(snapshot.services) ? snapshot.services : [];
    record(num(snapshot.time) || Date.now(), services);
    renderSummary(snapshot);
    renderServices(services);
    renderClients(snapshot.stats || {});
    renderStreams(snapshot.stats || {});
    drawCharts();
    if (jobs.size) renderJobs(); // running jobs' elapsed time
  }
  function parse(ev, handler) {
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    handler(data);
  }
  let dropped = 0;
  function connect() {
    const page = new URLSearchParams(location.search);
    const streams = page.has("streams") ? page.get("streams") : document.body.dataset.streams;
    const url = document.body.dataset.events + (streams ? "?streams=" + encodeURIComponent(streams) : "");
    const source = new EventSource(url);
    const status = $("status");
    source.onopen = () => { status.textContent = "live"; status.className = "live"; };
    source.onerror = () => { status.textContent = "reconnecting…"; status.className = "down"; };
    source.addEventListener("stats", (ev) => parse(ev, onStats));
    source.addEventListener("job", (ev) => parse(ev, onJob));
    // The server skipped events while this page read too slowly: the figures are still right, the job list may miss some.
    source.addEventListener("dropped", (ev) => parse(ev, (d) => {
      dropped += num(d.events);
      $("dropped").textContent = dropped + " events skipped (slow connection)";
    }));
    $("streams-selected").textContent = streams ? "events of " + streams : "no streams selected";
  }
  renderJobs();
  connect();
})();
`;
