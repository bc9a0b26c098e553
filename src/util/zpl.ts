/**
 * ZPL (ZeroMQ Property Language, RFC 4): the text format of the C broker's `malamute.cfg` and of
 * czmq's `zcert` certificate files. Pure: parses text, reads no files.
 *
 * @module
 */
/**
 * ZPL text that does not parse; `line` is the 1-based line of the first error. (A plain Error
 * with a stable `code`: src/util sits below src/errors.ts; callers wrap it in their own error
 * class, BrokerError `BROKER_CONFIG` or CurveCertError `CURVE_CERT_SYNTAX`.)
 *
 * @example
 * ```ts
 * try { parseZpl("  bad indent"); } catch (e) { if (e instanceof ZplError) console.log(e.line, e.reason); }
 * ```
 */
export class ZplError extends Error {
  readonly code = "ZPL_SYNTAX";

  constructor(readonly line: number, readonly reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = "ZplError";
  }
}

/** One node of a ZPL tree: a name, an optional value, and children. */
export interface ZplNode {
  name: string;
  value: string;
  children: ZplNode[];
  /** 1-based line of the file, 0 for the root. */
  line: number;
}

const NAME = /^[A-Za-z0-9$\-_@.&+/]+$/;

/**
 * Parse ZPL (ZeroMQ Property Language, the format of the C broker's `malamute.cfg`):
 * one `name` or `name = value` per line, nesting by 4 spaces of indentation, `#` comments,
 * values bare or in single or double quotes. Throws {@link ZplError} naming the line of the
 * first error.
 *
 * @example
 * ```ts
 * const root = parseZpl("server\n    timeout = 10000\n");
 * zplValue(root, "server/timeout"); // "10000"
 * ```
 */
export function parseZpl(text: string): ZplNode {
  const root: ZplNode = { name: "", value: "", children: [], line: 0 };
  const stack: ZplNode[] = [root];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] as string).replace(/\t/g, "    ");
    const body = raw.trimStart();
    if (body === "" || body.startsWith("#")) continue;
    const indent = raw.length - body.length;
    if (indent % 4 !== 0) throw configError(lineNo, "indentation must be a multiple of 4 spaces");
    const depth = indent / 4;
    if (depth > stack.length - 1) throw configError(lineNo, "indented deeper than its parent");
    const node = parseLine(body, lineNo);
    stack.length = depth + 1;
    (stack[depth] as ZplNode).children.push(node);
    stack.push(node);
  }
  return root;
}

function parseLine(body: string, line: number): ZplNode {
  const eq = body.indexOf("=");
  const hash = body.indexOf("#");
  const nameEnd = eq >= 0 && (hash < 0 || eq < hash) ? eq : hash >= 0 ? hash : body.length;
  const name = body.slice(0, nameEnd).trim();
  if (!NAME.test(name)) throw configError(line, `invalid name "${name}"`);
  if (nameEnd !== eq) return { name, value: "", children: [], line };
  let rest = body.slice(eq + 1).trimStart();
  let value: string;
  const quote = rest[0];
  if (quote === '"' || quote === "'") {
    const close = rest.indexOf(quote, 1);
    if (close < 0) throw configError(line, "unterminated quoted value");
    value = rest.slice(1, close);
    rest = rest.slice(close + 1).trim();
    if (rest !== "" && !rest.startsWith("#")) throw configError(line, "text after the quoted value");
  } else {
    const comment = rest.search(/\s#|^#/);
    value = (comment >= 0 ? rest.slice(0, comment) : rest).trim();
  }
  return { name, value, children: [], line };
}

function configError(line: number, why: string): ZplError {
  return new ZplError(line, why);
}

/**
 * Every node at `path` (names separated by `/`), in file order, across repeated sections.
 *
 * @example
 * ```ts
 * zplNodes(root, "mlm_server/bind/endpoint").map((n) => n.value);
 * ```
 */
export function zplNodes(root: ZplNode, path: string): ZplNode[] {
  let level = [root];
  for (const name of path.split("/")) {
    const next: ZplNode[] = [];
    for (const node of level) for (const child of node.children) if (child.name === name) next.push(child);
    level = next;
  }
  return level;
}

/**
 * The value at `path` (the last one if repeated), or undefined.
 *
 * @example
 * ```ts
 * zplValue(parseZpl("server\n    timeout = 5000"), "server/timeout"); // "5000"
 * ```
 */
export function zplValue(root: ZplNode, path: string): string | undefined {
  const nodes = zplNodes(root, path);
  return nodes.length > 0 ? (nodes[nodes.length - 1] as ZplNode).value : undefined;
}
