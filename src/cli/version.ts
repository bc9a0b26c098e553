/**
 * The package version the CLI reports with `--version`.
 *
 * A constant rather than a read of package.json, because the CLI runs from three places
 * (src/ under Deno and Bun, dist/ under Node, a JSR copy) and package.json is not beside
 * it in all of them. tests/cli/version.test.ts keeps it equal to package.json.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`malamute ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
