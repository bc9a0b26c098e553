// Loads tests/fixtures/mlm_proto.json (the golden vectors produced by the C codec) and maps
// its field names onto our MlmMessage shapes. Not a test file itself.
import { readFileSync } from "node:fs";
import type { MlmMessage } from "../../src/proto/mod.ts";

export interface Vector {
  name: string;
  command: string;
  fields: Record<string, unknown>;
  frames: string[];
}
export interface MalformedVector {
  name: string;
  description: string;
  frames: string[];
}
export interface BrokerSentVector {
  name: string;
  frames: string[] | null;
  decoded?: { command: string; fields: Record<string, unknown> };
}
export interface Fixture {
  vectors: Vector[];
  malformed: MalformedVector[];
  broker_sent: BrokerSentVector[];
  broker_malformed: MalformedVector[];
}

export const fixture: Fixture = JSON.parse(
  readFileSync(new URL("../fixtures/mlm_proto.json", import.meta.url), "utf8"),
) as Fixture;

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new Error(`odd hex length: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

// The C model names the composite `status` field status_code/status_reason; ours says code/reason.
const RENAMES: Record<string, string> = { status_code: "code", status_reason: "reason" };

/** The vector's command + fields as our MlmMessage (content hex strings become byte arrays). */
export function toMessage(command: string, fields: Record<string, unknown>): MlmMessage {
  const message: Record<string, unknown> = { type: command };
  for (const [key, value] of Object.entries(fields)) {
    if (key === "content") message.content = (value as string[]).map(fromHex);
    else message[RENAMES[key] ?? key] = value;
  }
  return message as unknown as MlmMessage;
}

/** One sample message of each of the 18 types, with every string non-empty. */
export function sampleMessages(): MlmMessage[] {
  const c = [Uint8Array.of(1)];
  return [
    { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "me" },
    { type: "CONNECTION_PING" },
    { type: "CONNECTION_PONG" },
    { type: "CONNECTION_CLOSE" },
    { type: "STREAM_WRITE", stream: "s" },
    { type: "STREAM_READ", stream: "s", pattern: "p" },
    { type: "STREAM_SEND", subject: "x", content: c },
    { type: "STREAM_DELIVER", address: "a", sender: "b", subject: "x", content: c },
    { type: "MAILBOX_SEND", address: "a", subject: "x", tracker: "t", timeout: 5, content: c },
    { type: "MAILBOX_DELIVER", sender: "b", address: "a", subject: "x", tracker: "t", content: c },
    { type: "SERVICE_SEND", address: "a", subject: "x", tracker: "t", timeout: 5, content: c },
    { type: "SERVICE_OFFER", address: "a", pattern: "p" },
    { type: "SERVICE_DELIVER", sender: "b", address: "a", subject: "x", tracker: "t", content: c },
    { type: "OK", code: 200, reason: "r" },
    { type: "ERROR", code: 500, reason: "r" },
    { type: "CREDIT", amount: 7 },
    { type: "CONFIRM", tracker: "t", code: 200, reason: "r" },
    { type: "STREAM_CANCEL", stream: "s" },
  ];
}
