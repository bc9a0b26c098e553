// The pattern engine lives in src/proto so that clients can check a pattern before sending it
// (the client may not import the broker); the broker keeps importing it from here.
export {
  compilePattern, DEFAULT_MAX_PATTERN_LENGTH, exactSubject, isValidPattern,
} from "../proto/pattern/mod.ts";
export type { Pattern, PatternLimits } from "../proto/pattern/mod.ts";
