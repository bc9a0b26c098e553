// Helpers of the HTTP endpoint tests: a broker serving HTTP on ephemeral ports, and an SSE reader.
import type { Broker } from "../../src/broker/server.ts";
import { startBroker } from "../../src/http/start.ts";
import type { BrokerHttpSettings } from "../../src/broker/types.ts";

export async function httpBroker(auth?: BrokerHttpSettings["auth"]): Promise<Broker & { http: string }> {
  const broker = await startBroker({
    endpoints: ["tcp://127.0.0.1:0"], http: { listen: "127.0.0.1:0", ...(auth ? { auth } : {}) },
  });
  return broker as Broker & { http: string };
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads SSE events from `response` until `done(events)` holds; fails after `ms`. */
export async function readEvents(response: Response, done: (events: SseEvent[]) => boolean, ms = 5000): Promise<SseEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = "";
  const timer = setTimeout(() => void reader.cancel(), ms);
  try {
    while (!done(events)) {
      const { value, done: ended } = await reader.read();
      if (ended) throw new Error(`event stream ended after ${events.map((e) => e.event).join(",")}`);
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf("\n\n")) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? "null";
        events.push({ event, data: JSON.parse(data) });
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}
