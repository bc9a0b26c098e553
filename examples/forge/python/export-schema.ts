/**
 * Writes the JSON Schema export of a Forge contract, which the Python workers load:
 *
 *   npx tsx examples/forge/python/export-schema.ts kokoro > examples/forge/python/kokoro.schema.json
 *
 * tests/python/forge-example.test.ts fails when the committed file differs from this output.
 */
import process from "node:process";
import { contractJsonSchema } from "../../../src/rpc/json-schema.ts";
import { kokoro, qwen3vl, sam3, zimage } from "../../../src/forge/contracts/services.ts";

const contracts = { kokoro, qwen3vl, sam3, zimage };
const name = process.argv[2] as keyof typeof contracts;
if (!(name in contracts)) {
  console.error(`usage: export-schema.ts ${Object.keys(contracts).join("|")}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(contractJsonSchema(contracts[name]), null, 2) + "\n");
