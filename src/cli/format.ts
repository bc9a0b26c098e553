/** How many leading bytes of a binary frame are shown in hex. */
export const HEX_PREVIEW_BYTES = 16;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The frame as text if it is valid UTF-8 with no control characters other than tab, CR and LF;
 * otherwise undefined (the frame is treated as binary).
 *
 * @example
 * ```ts
 * asText(new TextEncoder().encode("hi")); // "hi"
 * asText(new Uint8Array([0xff]));         // undefined
 * ```
 */
export function asText(frame: Uint8Array): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(frame);
  } catch {
    return undefined;
  }
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

/**
 * Lower-case hex of the first `HEX_PREVIEW_BYTES` bytes.
 *
 * @example
 * ```ts
 * hexPreview(new Uint8Array([1, 2, 255])); // "0102ff"
 * ```
 */
export function hexPreview(frame: Uint8Array): string {
  let hex = "";
  for (const byte of frame.subarray(0, HEX_PREVIEW_BYTES)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** One content frame as shown: its text, or its size, a short hex prefix and where it was saved. */
export type FrameView =
  | { text: string }
  | { size: number; hex: string; file?: string };

/**
 * Describe a frame for printing; binary frames keep only a preview.
 *
 * @example
 * ```ts
 * viewFrame(new TextEncoder().encode("hi")); // { text: "hi" }
 * ```
 */
export function viewFrame(frame: Uint8Array, file?: string): FrameView {
  const text = file === undefined ? asText(frame) : undefined;
  if (text !== undefined) return { text };
  const view: FrameView = { size: frame.length, hex: hexPreview(frame) };
  if (file !== undefined) view.file = file;
  return view;
}

/** A received message as printed by `malamute recv`. */
export interface DeliveryView {
  kind: string;
  sender: string;
  address: string;
  subject: string;
  tracker: string;
  content: FrameView[];
  /** The stream entry's sequence number (journal consumers: recv --from / --consumer). */
  seq?: number;
}

/**
 * One human-readable line for a delivery, e.g.
 * `mailbox from=alice to=bob subject=hello tracker=t1 | "hi" | <1024 bytes 89504e47…>`, or
 * `stream seq=42 from=gen to=forge.events subject=job.done | "{…}"` for a journal consumer.
 *
 * @example
 * ```ts
 * formatDeliveryLine({ kind: "stream", sender: "s", address: "weather", subject: "x", tracker: "", content: [] });
 * ```
 */
export function formatDeliveryLine(view: DeliveryView): string {
  const parts = [view.kind];
  if (view.seq !== undefined) parts.push(`seq=${view.seq}`);
  parts.push(`from=${token(view.sender)}`, `to=${token(view.address)}`, `subject=${token(view.subject)}`);
  if (view.tracker !== "") parts.push(`tracker=${token(view.tracker)}`);
  let line = parts.join(" ");
  for (const frame of view.content) line += ` | ${formatFrame(frame)}`;
  return line;
}

function formatFrame(frame: FrameView): string {
  if ("text" in frame) return JSON.stringify(frame.text);
  const more = frame.size > HEX_PREVIEW_BYTES ? "…" : "";
  const file = frame.file === undefined ? "" : ` saved to ${frame.file}`;
  return `<${frame.size} bytes${frame.size > 0 ? ` ${frame.hex}${more}` : ""}${file}>`;
}

/** A value printed bare if it is a plain word, else JSON-quoted so spaces and `|` stay unambiguous. */
function token(value: string): string {
  return /^[\w.:@/+-]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * Align rows under headers, two spaces between columns, numbers right-aligned.
 *
 * @example
 * ```ts
 * formatTable(["name", "depth"], [["alice", 3]]);
 * // "name   depth\nalice      3"
 * ```
 */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const widths = headers.map((header, col) =>
    Math.max(header.length, ...rows.map((row) => String(row[col] ?? "").length))
  );
  const line = (cells: ReadonlyArray<string | number>, numeric: (col: number) => boolean) =>
    widths.map((width, col) => {
      const cell = String(cells[col] ?? "");
      return numeric(col) ? cell.padStart(width) : cell.padEnd(width);
    }).join("  ").trimEnd();
  const isNumberColumn = (col: number) => rows.length > 0 && rows.every((row) => typeof row[col] === "number");
  return [line(headers, isNumberColumn), ...rows.map((row) => line(row, isNumberColumn))].join("\n");
}
