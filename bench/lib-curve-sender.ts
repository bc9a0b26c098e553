/**
 * The sending half of bench/curve.ts's two-process throughput case, in the spirit of libzmq's
 * `remote_thr`: a DEALER in its own process sends `size`-byte messages to the receiver's
 * ROUTER as fast as the receiver's credit allows. The receiver grants credit in batches (one
 * small message per half window), so the sender never floods the socket and the count is
 * taken where the messages arrive. Runs until its parent closes its stdin.
 *
 * Usage (spawned by bench/curve.ts): lib-curve-sender.ts ENDPOINT SIZE WINDOW null|curve [SERVER_KEY_Z85]
 */
import process from "node:process";
import { zmtp } from "../src/transport/zmtp.ts";
import { curveKeyPair } from "../src/zmtp/mod.ts";
import { curveReady } from "../src/zmtp/mechanism/curve/sodium.ts";
import { payload } from "./lib-throughput.ts";

const [endpoint, size, window, mode, serverKey] = process.argv.slice(2);
await curveReady();
const dealer = zmtp.dealer({
  sendHighWaterMark: Number(window) * 2,
  ...(mode === "curve" ? { curve: { serverKey: serverKey as string, ...curveKeyPair() } } : {}),
});
const msg = [payload(Number(size))];
let credit = Number(window);
const pump = () => {
  for (; credit > 0; credit--) dealer.send(msg);
};
dealer.on("message", (frames) => {
  credit += new DataView((frames[0] as Uint8Array).buffer, (frames[0] as Uint8Array).byteOffset).getUint32(0);
  pump();
});
dealer.on("connect", pump);
dealer.connect(endpoint as string);
process.stdin.on("data", () => {});
process.stdin.on("end", () => void dealer.close().then(() => process.exit(0)));
