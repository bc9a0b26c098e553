/**
 * Which files a packed package must contain for its manifest to work: every `main`, `types`,
 * `bin` and `exports` target. A package packed without its build (no `dist/`) imports with
 * ERR_MODULE_NOT_FOUND and has no `malamute` binary, so scripts/check-package.ts refuses it.
 *
 * @example
 * ```ts
 * const missing = missingEntryFiles(manifest, ["package.json", "mod.ts"]);
 * if (missing.length > 0) throw new Error("package lacks " + missing.join(", "));
 * ```
 */
export interface Manifest {
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
}

/** Every file path the manifest points at, normalised without a leading `./`. */
export function entryFiles(manifest: Manifest): string[] {
  const out = new Set<string>();
  const add = (path: unknown) => {
    if (typeof path === "string") out.add(path.replace(/^\.\//, ""));
  };
  add(manifest.main);
  add(manifest.types);
  if (typeof manifest.bin === "string") add(manifest.bin);
  else if (manifest.bin) for (const path of Object.values(manifest.bin)) add(path);
  // Conditional exports nest objects; every string leaf is a target.
  const walk = (node: unknown) => {
    if (typeof node === "string") add(node);
    else if (node && typeof node === "object") for (const child of Object.values(node)) walk(child);
  };
  walk(manifest.exports);
  return [...out].sort();
}

/** The manifest's entry files absent from `packed` (paths as `npm pack` lists them, `package/` prefix allowed). */
export function missingEntryFiles(manifest: Manifest, packed: readonly string[]): string[] {
  const present = new Set(packed.map((p) => p.replace(/^package\//, "")));
  return entryFiles(manifest).filter((path) => !present.has(path));
}
