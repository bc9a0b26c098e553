/** Something the broker keeps by name and forgets once it holds nothing (a stream, a service). */
export interface Named {
  readonly name: string;
  readonly idle: boolean;
}

/**
 * The entry of `map` named `name`, created with `new Make(name)` when there is none.
 *
 * @example
 * ```ts
 * const stream = obtain(streams, "weather", Stream);
 * ```
 */
export function obtain<T>(map: Map<string, T>, name: string, Make: new (name: string) => T): T {
  let entry = map.get(name);
  if (entry === undefined) {
    entry = new Make(name);
    map.set(name, entry);
  }
  return entry;
}

/**
 * Forget `entry` once it is idle, unless a newer entry has taken its name (the C broker never
 * frees these).
 *
 * @example
 * ```ts
 * reclaimIfIdle(streams, stream);
 * ```
 */
export function reclaimIfIdle<T extends Named>(map: Map<string, T>, entry: T): void {
  if (entry.idle && map.get(entry.name) === entry) map.delete(entry.name);
}
