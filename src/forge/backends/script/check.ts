import type { TSchema } from "typebox";
import { issuesOf } from "../../../rpc/shared/validate.ts";
import { ForgeCode, ForgeError } from "../../errors.ts";

/** Checks what a script returned against the contract, so a buggy script fails as `FORGE_BAD_RESPONSE`, not later. */
export function expect<T>(schema: TSchema, value: unknown, what: string): T {
  const issues = issuesOf(schema, value);
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new ForgeError(ForgeCode.BadResponse, `script returned an invalid ${what}: ${first.path || "(root)"} ${first.message}`, { details: { issues } });
  }
  return value as T;
}
