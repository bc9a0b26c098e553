export { systemCode } from "../util/system-code.ts";

/** System codes of a host name that does not resolve. */
export const DNS_CODES: ReadonlySet<string> = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]);
