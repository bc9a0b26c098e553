import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { GENERATED_PATH, renderUplotModule } from "../../scripts/vendor-uplot.ts";
import { createHash } from "node:crypto";
import { dashboardCsp, dashboardHtml } from "../../src/http/dashboard/page.ts";
import { DASHBOARD_JS } from "../../src/http/dashboard/script.ts";
import { UPLOT_JS, UPLOT_LICENSE, UPLOT_VERSION } from "../../src/http/dashboard/uplot.generated.ts";

describe("dashboard page", () => {
  it("the vendored uPlot module matches node_modules/uplot (run scripts/vendor-uplot.ts after an upgrade)", () => {
    assert.equal(readFileSync(GENERATED_PATH, "utf8"), renderUplotModule());
    const pkg = JSON.parse(readFileSync(new URL("../../node_modules/uplot/package.json", import.meta.url), "utf8"));
    assert.equal(UPLOT_VERSION, pkg.version);
    assert.match(UPLOT_LICENSE, /MIT License/);
    assert.match(readFileSync(GENERATED_PATH, "utf8"), /Copyright \(c\) \d{4} Leon Sorokin/);
  });

  it("is one document with exactly its own two scripts, nothing fetched but the feed", () => {
    const html = dashboardHtml();
    assert.equal(html.match(/<script\b/gi)?.length, 2);
    assert.equal(html.match(/<\/script/gi)?.length, 2);
    assert.ok(html.includes(UPLOT_JS));
    assert.doesNotMatch(html, /\b(src|href)=["']?(https?:)?\/\//i);
    assert.match(html, /data-events="api\/events" data-streams="forge\.events"/);
    assert.match(html, /data-statuses="\{&quot;300&quot;:&quot;failed&quot;,&quot;301&quot;:&quot;expired&quot;/);
  });

  it("escapes its options into the markup", () => {
    const html = dashboardHtml({ title: `<img src=x onerror="alert(1)">`, eventsPath: `/a"b`, streams: ["x'y", "forge.events"] });
    assert.ok(!html.includes("<img"));
    assert.ok(html.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
    assert.match(html, /data-events="\/a&quot;b" data-streams="x&#39;y,forge\.events"/);
  });

  it("the browser script compiles and never writes HTML from data", () => {
    assert.doesNotThrow(() => new Function(DASHBOARD_JS));
    assert.doesNotMatch(DASHBOARD_JS, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it("its Content-Security-Policy allows exactly the page's inline scripts and styles", () => {
    const html = dashboardHtml({ title: "other" });
    const hashes = (tag: string) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))]
      .map((m) => `'sha256-${createHash("sha256").update(m[1]!, "utf8").digest("base64")}'`).join(" ");
    const csp = dashboardCsp();
    assert.ok(csp.includes(`script-src ${hashes("script")};`), csp);
    assert.ok(csp.includes(`style-src ${hashes("style")};`), csp);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });
});
