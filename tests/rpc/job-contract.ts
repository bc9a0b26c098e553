// The contract of the worker-loss test, shared with its child worker process.
import Type from "typebox";
import { defineService } from "../../src/rpc/contract.ts";

export const job = defineService("lossjob", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer(), worker: Type.String() }) },
});
