/**
 * The specifier that imports `target` (a file: URL) from the module at `from` (a file: URL), as a
 * path relative to `from`: "./" followed by "../" steps and the target's percent-encoded segments.
 * `import(\`./${…}\`)` is a form `deno publish` can analyze (a relative template needs no
 * rewriting), unlike `import(anyExpression)`, which it reports as unanalyzable.
 * Returns undefined when no relative path exists (another Windows drive or UNC host).
 * @example
 * relativeModulePath("file:///app/node_modules/malamute/dist/src/cli/actions/call.js", "file:///home/me/echo.ts");
 * // "../../../../../../../home/me/echo.ts" (import it as `./${path}`)
 */
export function relativeModulePath(from: string, target: string): string | undefined {
  const a = new URL(from);
  const b = new URL(target);
  if (a.protocol !== "file:" || b.protocol !== "file:" || a.host !== b.host) return undefined;
  const fromDirs = a.pathname.split("/").slice(1, -1);
  const to = b.pathname.split("/").slice(1);
  // A Windows path's first segment is its drive ("C:"): no relative path leads to another drive.
  if (/^[A-Za-z](:|%3A)$/i.test(fromDirs[0] ?? "") && fromDirs[0]!.toUpperCase() !== to[0]?.toUpperCase()) return undefined;
  let common = 0;
  while (common < fromDirs.length && common < to.length - 1 && fromDirs[common] === to[common]) common++;
  return [...fromDirs.slice(common).map(() => ".."), ...to.slice(common)].join("/") + b.search;
}
