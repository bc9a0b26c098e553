// `malamute call --contract x.ts` imports the user's module through a relative template, the form
// `deno publish` can analyze (issue 20 item 16: no unanalyzable-dynamic-import warning).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { relativeModulePath } from "../../src/cli/module-url.ts";

const from = "file:///app/node_modules/malamute/dist/src/cli/actions/call.js";

describe("relativeModulePath", () => {
  it("walks up to the common directory and down to the target", () => {
    assert.equal(relativeModulePath(from, "file:///home/me/echo.ts"), "../../../../../../../home/me/echo.ts");
    assert.equal(relativeModulePath(from, "file:///app/contracts/echo.ts"), "../../../../../../contracts/echo.ts");
    assert.equal(relativeModulePath(from, "file:///app/node_modules/malamute/dist/src/cli/actions/x.js"), "x.js");
    assert.equal(relativeModulePath(from, "file:///echo.ts"), "../../../../../../../echo.ts");
  });

  it("resolves back to the target, with encoded characters kept encoded", () => {
    for (const target of ["file:///home/me/my%20contracts/a%23b.ts", "file:///app/node_modules/x.ts", "file:///app/node_modules/malamute/dist/src/cli/actions/sub/y.ts"]) {
      const rel = relativeModulePath(from, target)!;
      assert.equal(new URL(`./${rel}`, from).href, target);
    }
  });

  it("has no answer across Windows drives, hosts or schemes", () => {
    assert.equal(relativeModulePath("file:///C:/app/call.js", "file:///D:/x.ts"), undefined);
    assert.equal(relativeModulePath("file://server/share/call.js", "file:///x.ts"), undefined);
    assert.equal(relativeModulePath("https://example.com/call.js", "file:///x.ts"), undefined);
  });
});
