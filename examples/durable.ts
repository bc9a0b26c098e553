/**
 * Durability in one file: a broker with a data directory keeps a mailbox and a stream journal
 * across a restart; a late reader replays the stream; a durable consumer resumes where it left off.
 *
 *   npx tsx examples/durable.ts
 *   npx bun examples/durable.ts
 *   npx deno run -A examples/durable.ts
 *
 * In a real deployment: `malamute broker --data-dir /var/lib/malamute` (docs/durability.md).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../src/broker/server.ts";
import { MlmClient } from "../src/client/client.ts";

const dir = mkdtempSync(join(tmpdir(), "malamute-example-"));
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

try {
  // 1. A broker with a data directory; alice stores mail for bob, who is offline, and publishes.
  let broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], storage: { dir, fsync: "always" } });
  const alice = await MlmClient.connect(broker.endpoints[0] as string, { address: "alice" });
  await alice.sendTo("bob", "invoice", "#7: 42 EUR", { tracker: "inv-7", durable: true }); // resolves once on disk
  console.log("alice: invoice #7 stored for bob");
  await alice.setProducer("jobs");
  for (const step of ["queued", "started", "done"]) alice.send(`job-1.${step}`, step);
  await alice.close();
  await broker.close();

  // 2. The broker restarts on the same directory (another port, the same state).
  broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], storage: { dir, fsync: "always" } });
  const endpoint = broker.endpoints[0] as string;
  console.log(`broker restarted: ${broker.stats().counters.recovered} message(s) recovered`);

  const bob = await MlmClient.connect(endpoint, { address: "bob" });
  const mail = await bob.receive();
  console.log(`bob: ${mail.subject} from ${mail.sender}: ${text(mail.content[0])}`);

  // 3. A late reader replays the stream from its first entry, then would continue live.
  const { head } = await bob.setConsumer("jobs", ".*", { from: "first", durable: "bob-jobs" });
  for (let i = 0; i < head; i++) {
    const d = await bob.receive();
    console.log(`bob: jobs #${d.seq} ${d.subject}`);
  }
  await bob.close(); // acknowledges what it received

  // 4. The durable consumer resumes after what it acknowledged: only the new entry comes.
  const carol = await MlmClient.connect(endpoint, { address: "carol" });
  await carol.setProducer("jobs");
  carol.send("job-2.queued", "queued");
  const again = await MlmClient.connect(endpoint, { address: "bob" });
  await again.setConsumer("jobs", ".*", { durable: "bob-jobs" });
  const next = await again.receive();
  console.log(`bob, later: jobs #${next.seq} ${next.subject}`);
  await Promise.all([carol.close(), again.close()]);
  await broker.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
