/**
 * Test helpers (`malamute/testing`): an in-process broker in one line, mocked RPC services that
 * record their calls, and a recorder of `forge.events`. They work under `node:test`, `bun test`
 * and `deno test` alike.
 *
 * @example
 * ```ts
 * import { mockService, reply, testBroker } from "malamute/testing";
 * const t = await testBroker();
 * const mock = await mockService(t, qwen3vl, { infer: reply({ text: "a cat" }) });
 * // ... exercise the code under test against t.endpoint with t.options ...
 * await t.close();
 * ```
 * @module
 */
export { testBroker } from "./broker.ts";
export type { TestBroker, TestBrokerOptions } from "./broker.ts";
export { delay, fail, mockService, reply, stream } from "./mock-service.ts";
export type { MockBehaviour, MockCall, MockHandler, MockHandlers, MockService, MockTarget } from "./mock-service.ts";
export { recordForgeEvents } from "./events.ts";
export type { ForgeEventRecorder } from "./events.ts";
