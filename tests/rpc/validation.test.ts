import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Type from "typebox";
import { MalamuteError } from "../../src/errors.ts";
import { Bytes } from "../../src/rpc/bytes.ts";
import {
  errorBody, RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcHandlerError, RpcPayloadTooLargeError,
  RpcProtocolError, RpcRemoteError, RpcUnavailableError, RpcValidationError,
} from "../../src/rpc/errors.ts";
import { assertValid, issuesOf } from "../../src/rpc/shared/validate.ts";
import { qwen3vl, zimage } from "./contracts.ts";

function validationError(fn: () => void): RpcValidationError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RpcValidationError, `expected RpcValidationError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a validation error");
}

describe("rpc validation", () => {
  it("accepts a valid value", () => {
    assertValid(qwen3vl.methods.infer.input, { prompt: "hi", image: new Uint8Array(3) }, "input");
  });

  it("gives the JSON path of a wrong field", () => {
    const error = validationError(() => assertValid(qwen3vl.methods.infer.input, { prompt: 42 }, "input", "qwen3vl.infer"));
    assert.equal(error.path, "/prompt");
    assert.equal(error.code, RpcErrorCode.VALIDATION);
    assert.equal(error.role, "input");
    assert.match(error.message, /^qwen3vl\.infer: invalid input at \/prompt/);
  });

  it("sends the message without the method name: the caller's RpcRemoteError adds it once", () => {
    const error = validationError(() => assertValid(qwen3vl.methods.infer.input, { prompt: 42 }, "input", "qwen3vl.infer"));
    const body = errorBody(error);
    assert.match(body.message, /^invalid input at \/prompt: /);
    assert.equal(new RpcRemoteError("qwen3vl", "infer", body).message, `qwen3vl.infer: ${body.message}`);
  });

  it("gives the JSON path inside arrays and nested objects", () => {
    const schema = Type.Object({ batch: Type.Array(Type.Object({ steps: Type.Integer() })) });
    const error = validationError(() => assertValid(schema, { batch: [{ steps: 1 }, { steps: "2" }] }, "input"));
    assert.equal(error.path, "/batch/1/steps");
  });

  it("lists every issue, with the first one as path", () => {
    const issues = issuesOf(zimage.methods.render.input, { prompt: 1, steps: 1000 });
    assert.deepEqual(issues.map((i) => i.path).sort(), ["/prompt", "/steps"]);
  });

  it("caps the number of issues reported", () => {
    const schema = Type.Array(Type.String());
    const issues = issuesOf(schema, Array.from({ length: 100 }, (_, i) => i));
    assert.ok(issues.length >= 1 && issues.length <= 20, `${issues.length} issues`);
    assert.equal(issues[0]?.path, "/0");
  });

  it("names the allowed values of a literal union, a literal and an enum (issue 20 #12)", () => {
    const schema = Type.Object({
      mode: Type.Union([Type.Literal("fast"), Type.Literal("slow"), Type.Literal(3)]),
      only: Type.Literal("x"),
      kind: Type.Enum(["a", "b"]),
    });
    const error = validationError(() => assertValid(schema, { mode: "medium", only: "y", kind: "c" }, "input"));
    assert.equal(error.message, 'invalid input at /mode: must be one of "fast", "slow", 3 (+2 more)');
    assert.deepEqual(error.issues.map((i) => [i.path, i.message]), [
      ["/mode", 'must be one of "fast", "slow", 3'],
      ["/only", 'must be "x"'],
      ["/kind", 'must be one of "a", "b"'],
    ]);
  });

  it("a union with a non-literal member keeps one issue per member", () => {
    const schema = Type.Union([Type.Literal("a"), Type.Number()]);
    assert.deepEqual(issuesOf(schema, "z").map((i) => i.message), ['must be "a"', "must be number", "must match a schema in anyOf"]);
  });

  it("lists at most 10 allowed values, the rest counted", () => {
    const schema = Type.Union(Array.from({ length: 25 }, (_, i) => Type.Literal(i)));
    assert.deepEqual(issuesOf(schema, "x"), [{ path: "", message: "must be one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 (+15 more values)" }]);
  });

  it("reports a missing required field at the object's path", () => {
    const error = validationError(() => assertValid(zimage.methods.render.input, { prompt: "x" }, "input"));
    assert.equal(error.path, "");
    assert.match(error.message, /steps/);
  });
});

describe("rpc Bytes schema", () => {
  it("accepts a Uint8Array", () => {
    assertValid(Bytes(), new Uint8Array(2), "input");
  });

  it("rejects arrays, strings and other typed arrays with a clear message", () => {
    for (const bad of [[1, 2], "AQI=", new Uint16Array(2), null, {}]) {
      const error = validationError(() => assertValid(Type.Object({ img: Bytes() }), { img: bad }, "input"));
      assert.equal(error.path, "/img");
      assert.match(error.message, /Uint8Array/);
    }
  });

  it("checks minBytes and maxBytes", () => {
    const schema = Bytes({ minBytes: 2, maxBytes: 4 });
    assertValid(schema, new Uint8Array(2), "input");
    assertValid(schema, new Uint8Array(4), "input");
    assert.throws(() => assertValid(schema, new Uint8Array(1), "input"), /between 2 and 4 bytes, got 1/);
    assert.throws(() => assertValid(schema, new Uint8Array(5), "input"), /got 5/);
  });

  it("works inside Optional, Array and Union", () => {
    const schema = Type.Object({
      maybe: Type.Optional(Bytes()),
      frames: Type.Array(Bytes()),
      either: Type.Union([Bytes(), Type.String()]),
    });
    assertValid(schema, { frames: [new Uint8Array(1)], either: "x" }, "input");
    assertValid(schema, { maybe: new Uint8Array(0), frames: [], either: new Uint8Array(1) }, "input");
    const error = validationError(() => assertValid(schema, { frames: [new Uint8Array(1), "no"], either: 1 }, "input"));
    assert.ok(error.issues.some((i) => i.path === "/frames/1"));
  });
});

describe("rpc errors", () => {
  const samples: RpcError[] = [
    new RpcValidationError("input", [{ path: "/a", message: "must be string" }]),
    new RpcRemoteError("svc", "m", { code: "MODEL_BUSY", message: "busy", details: { retry: 1 } }),
    new RpcDeadlineError("late", { cause: new Error("timer") }),
    new RpcCancelledError("stop", { cause: "user" }),
    new RpcPayloadTooLargeError("input", 10, 5),
    new RpcProtocolError("bad"),
    new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, "gone"),
    new RpcHandlerError("OOM", "out of memory", { gb: 24 }),
  ];

  it("every error class has name, code and cause, and is a MalamuteError", () => {
    for (const error of samples) {
      assert.ok(error instanceof MalamuteError);
      assert.ok(error instanceof RpcError);
      assert.equal(error.name, error.constructor.name);
      assert.equal(typeof error.code, "string");
      assert.ok("cause" in error || error.cause === undefined);
    }
    assert.equal(samples[2]?.cause instanceof Error, true);
    assert.equal(samples[3]?.cause, "user");
  });

  it("stable codes cover validation, deadline, cancel, unknown method, payload too large and internal", () => {
    assert.deepEqual(
      [RpcErrorCode.VALIDATION, RpcErrorCode.DEADLINE_EXCEEDED, RpcErrorCode.CANCELLED, RpcErrorCode.UNKNOWN_METHOD,
        RpcErrorCode.PAYLOAD_TOO_LARGE, RpcErrorCode.INTERNAL],
      ["RPC_VALIDATION", "RPC_DEADLINE_EXCEEDED", "RPC_CANCELLED", "RPC_UNKNOWN_METHOD", "RPC_PAYLOAD_TOO_LARGE", "RPC_INTERNAL"],
    );
    assert.deepEqual(samples.map((e) => e.code), [
      "RPC_VALIDATION", "MODEL_BUSY", "RPC_DEADLINE_EXCEEDED", "RPC_CANCELLED", "RPC_PAYLOAD_TOO_LARGE",
      "RPC_BAD_ENVELOPE", "RPC_UNAVAILABLE", "OOM",
    ]);
  });

  it("a remote error names the service and method", () => {
    const error = samples[1] as RpcRemoteError;
    assert.equal(error.service, "svc");
    assert.equal(error.method, "m");
    assert.equal(error.message, "svc.m: busy");
    assert.deepEqual(error.details, { retry: 1 });
  });

  it("errorBody keeps RPC codes and details, and maps other throws to RPC_INTERNAL", () => {
    assert.deepEqual(errorBody(new RpcHandlerError("OOM", "out of memory", { gb: 24 })), {
      code: "OOM", message: "out of memory", details: { gb: 24 },
    });
    assert.deepEqual(errorBody(new TypeError("x is undefined")), { code: "RPC_INTERNAL", message: "x is undefined" });
    assert.deepEqual(errorBody("plain string"), { code: "RPC_INTERNAL", message: "plain string" });
    const validation = errorBody(samples[0]);
    assert.equal(validation.code, "RPC_VALIDATION");
    assert.deepEqual(validation.details, { role: "input", issues: [{ path: "/a", message: "must be string" }] });
  });

  it("payload-too-large says the size and the limit", () => {
    const error = samples[4] as RpcPayloadTooLargeError;
    assert.match(error.message, /10 bytes, over the limit of 5 bytes/);
    assert.deepEqual(error.details, { size: 10, limit: 5 });
  });
});
