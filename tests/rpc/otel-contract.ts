// Contracts of the tracing tests: a front service whose handler calls a back service.
import Type from "typebox";
import { defineService } from "../../src/rpc/contract.ts";

export const traceFront = defineService("tracefront", {
  ask: { input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }) },
});

export const traceBack = defineService("traceback", {
  work: { input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }) },
  fail: { input: Type.Object({}), output: Type.Object({}) },
});
