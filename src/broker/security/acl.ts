/**
 * Access control tied to a client's authenticated CURVE key (pure: no I/O). An ACL lists
 * clients by their Z85 public key and, per client, which names it may use:
 *
 * - `mailbox`: addresses it may own (CONNECTION-OPEN); the anonymous address "" is always allowed.
 * - `send`: addresses it may MAILBOX-SEND to.
 * - `offer`: services it may SERVICE-OFFER (the offer's service name).
 * - `request`: services it may SERVICE-SEND to (this includes `malamute.admin` and `malamute.stream`).
 * - `read`: streams it may STREAM-READ (and replay through `malamute.stream`).
 * - `write`: streams it may STREAM-WRITE.
 *
 * Each is a comma-separated list of names where `*` matches any run of characters
 * (`forge.*`, `*`); an absent or empty list allows nothing. Connections whose key is not
 * listed, and connections without a key (NULL or PLAIN), get the `default` policy: `allow`
 * (everything; the default) or `deny` (nothing but an anonymous session).
 *
 * @example
 * ```ts
 * const acl = compileAcl({ default: "deny", clients: [{ name: "gpu1", key: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", offer: "qwen3vl,zimage", write: "forge.events" }] });
 * acl.rulesFor("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").allows("offer", "qwen3vl"); // true
 * ```
 * @module
 */
import { BrokerError } from "../errors.ts";

/** What an ACL rule governs. */
export type AclRight = "mailbox" | "send" | "offer" | "request" | "read" | "write";

/** The rights an ACL can grant, in documentation order. */
export const ACL_RIGHTS: readonly AclRight[] = ["mailbox", "send", "offer", "request", "read", "write"];

/** One client of an ACL: its CURVE public key (Z85) and its allowed names per right. */
export type AclClient = { name?: string; key: string } & Partial<Record<AclRight, string | string[]>>;

/** The `acl` option of the broker. */
export interface AclOptions {
  /** For unlisted keys and connections without a key. Default `allow`. */
  default?: "allow" | "deny";
  clients: AclClient[];
}

/**
 * Whether a pattern (`*` = any run of characters) matches a whole name.
 *
 * @example
 * ```ts
 * globMatch("forge.*", "forge.events"); // true
 * ```
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * The rights of one connection.
 *
 * @example
 * ```ts
 * if (!rules.allows("read", "forge.events")) refuse();
 * ```
 */
export interface AclRules {
  /** The ACL entry's name ("" for the default policy). */
  readonly name: string;
  allows(right: AclRight, name: string): boolean;
}

/** The rules of a connection when the broker has no ACL. */
export const ALLOW_ALL_RULES: AclRules = { name: "", allows: () => true };
const ALLOW_ALL = ALLOW_ALL_RULES;
const DENY_ALL: AclRules = { name: "", allows: (right, name) => right === "mailbox" && name === "" };

function patterns(value: string | string[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : value.split(",");
  return list.map((s) => s.trim()).filter((s) => s !== "");
}

function clientRules(client: AclClient): AclRules {
  const table = new Map<AclRight, string[]>(ACL_RIGHTS.map((r) => [r, patterns(client[r])]));
  return {
    name: client.name ?? "",
    allows: (right, name) => (right === "mailbox" && name === "") || (table.get(right) as string[]).some((p) => globMatch(p, name)),
  };
}

/**
 * A compiled ACL: the rules of a key, looked up once per connection.
 *
 * @example
 * ```ts
 * const rules = compileAcl(options).rulesFor(curveKeyZ85);
 * ```
 */
export interface Acl {
  rulesFor(curveKey: string | undefined): AclRules;
}

const KEY_Z85 = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/**
 * Check and compile ACL options.
 *
 * @throws BrokerError `BROKER_CONFIG` for a key that is not 40 Z85 characters, a duplicate key or an unknown default.
 * @example
 * ```ts
 * const acl = compileAcl({ default: "allow", clients: [] });
 * ```
 */
export function compileAcl(options: AclOptions): Acl {
  const policy = options.default ?? "allow";
  if (policy !== "allow" && policy !== "deny") throw new BrokerError("BROKER_CONFIG", `acl default must be "allow" or "deny", not "${policy}"`);
  const fallback = policy === "allow" ? ALLOW_ALL : DENY_ALL;
  const byKey = new Map<string, AclRules>();
  for (const client of options.clients) {
    const label = client.name ?? client.key;
    if (typeof client.key !== "string" || !KEY_Z85.test(client.key)) {
      throw new BrokerError("BROKER_CONFIG", `acl client ${label}: key must be a 40-character Z85 public key`);
    }
    if (byKey.has(client.key)) throw new BrokerError("BROKER_CONFIG", `acl client ${label}: key listed twice`);
    byKey.set(client.key, clientRules(client));
  }
  return { rulesFor: (key) => (key !== undefined ? byKey.get(key) : undefined) ?? fallback };
}
