// Stream/service subject patterns: mlm-protocol.md §7.1 (the C broker's zrex behaviour, with its
// verified table) and design.md §3 "patterns" (ranges work, nothing can hang).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compilePattern, DEFAULT_MAX_PATTERN_LENGTH, isValidPattern } from "../../src/broker/pattern.ts";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Checks a pattern on a subject given both as a string and as its UTF-8 bytes. */
function matches(pattern: string, subject: string): boolean {
  const p = compilePattern(pattern);
  const viaString = p.matches(subject);
  assert.equal(p.matches(utf8(subject)), viaString, `string and byte subjects disagree for ${JSON.stringify(pattern)}`);
  return viaString;
}

// mlm-protocol.md §7.1, "Verified vectors (CZMQ 4.2.1 zrex_new + zrex_matches)". The [0-9] rows
// are left out here: design.md §3 gives ranges their documented meaning (tested further down).
const VERIFIED: Array<{ pattern: string; subject: string; valid: boolean; match: boolean }> = [
  { pattern: "", subject: "", valid: true, match: false },
  { pattern: "", subject: "a", valid: true, match: true },
  { pattern: ".*", subject: "", valid: true, match: false },
  { pattern: "^", subject: "", valid: true, match: true },
  { pattern: "^$", subject: "", valid: true, match: true },
  { pattern: "$", subject: "", valid: true, match: false },
  { pattern: "$", subject: "a", valid: true, match: false },
  { pattern: "temp", subject: "xtempy", valid: true, match: true },
  { pattern: "^temp", subject: "xtemp", valid: true, match: false },
  { pattern: "temp$", subject: "temps", valid: true, match: false },
  { pattern: "temp.*", subject: "temp", valid: true, match: true },
  { pattern: "temp.", subject: "temp", valid: true, match: false },
  { pattern: "weather.", subject: "weather", valid: true, match: false },
  { pattern: "a|b", subject: "b", valid: true, match: true },
  { pattern: "^a|b$", subject: "xb", valid: true, match: false },
  { pattern: "[abc]+$", subject: "xxab", valid: true, match: true },
  { pattern: "\\d+", subject: "a12", valid: true, match: true },
  { pattern: "\\x41", subject: "A", valid: true, match: false },
  { pattern: "\\x41", subject: "x41", valid: true, match: true },
  { pattern: "[\\d]", subject: "5", valid: true, match: false },
  { pattern: "TEMP", subject: "temp", valid: true, match: false },
  { pattern: "a?b", subject: "b", valid: true, match: true },
  { pattern: "(ab)+c", subject: "ababc", valid: true, match: true },
  { pattern: "a{2}", subject: "aa", valid: true, match: false },
  { pattern: "a{2}", subject: "a{2}", valid: true, match: true },
  { pattern: "[", subject: "abc", valid: false, match: true },
  { pattern: "[", subject: "", valid: false, match: false },
];

describe("§7.1 verified table (C broker, CZMQ 4.2.1 zrex)", () => {
  for (const row of VERIFIED) {
    const name = `§7.1 row: pattern ${JSON.stringify(row.pattern)} on subject ${JSON.stringify(row.subject)} → ` +
      `${row.valid ? "valid" : "invalid"}, ${row.match ? "match" : "no match"}`;
    it(name, () => {
      const p = compilePattern(row.pattern);
      assert.equal(p.valid, row.valid);
      assert.equal(isValidPattern(row.pattern), row.valid);
      assert.equal(matches(row.pattern, row.subject), row.match);
    });
  }
});

describe("§7.1 search rules", () => {
  it("search, not full match: a pattern may match anywhere in the subject", () => {
    assert.equal(matches("temp", "weather.temp.kitchen"), true);
    assert.equal(matches("t.mp", "xtimpy"), true);
    assert.equal(matches("temp", "tem"), false);
  });

  it("unanchored patterns never match an empty subject, even those that match the empty string", () => {
    for (const p of ["", ".*", "a*", "a?", "(a|)", "()", "x*$", "a|"]) assert.equal(matches(p, ""), false, p);
  });

  it("the empty pattern matches every non-empty subject", () => {
    for (const s of ["a", " ", "é", "\n"]) assert.equal(matches("", s), true);
  });

  it("^ anchors at offset 0 and ^ / ^$ match the empty subject", () => {
    assert.equal(matches("^temp", "temp.x"), true);
    assert.equal(matches("^temp", "xtemp"), false);
    assert.equal(matches("^", "anything"), true);
    assert.equal(matches("^$", "a"), false);
    assert.equal(matches("^a*", ""), true);
  });

  it("a leading ^ anchors the whole pattern: ^a|b$ tries offset 0 only", () => {
    assert.equal(matches("^a|b$", "b"), true);
    assert.equal(matches("^a|b$", "ab"), true); // "a" at offset 0
    assert.equal(matches("^a|b$", "xb"), false);
    assert.equal(matches("a|^b", "xb"), false); // ^ elsewhere is an assertion, not an anchor flag
    assert.equal(matches("a|^b", "b"), true);
    assert.equal(matches("a|^b", "xa"), true);
  });

  it("$ requires the end of the subject; $ alone never matches because offset len is never tried", () => {
    assert.equal(matches("temp$", "temp"), true);
    assert.equal(matches("temp$", "a.temp"), true);
    assert.equal(matches("^temp$", "temp"), true);
    assert.equal(matches("^temp$", "temps"), false);
    assert.equal(matches("$", "abc"), false);
    assert.equal(matches("x*$", "b"), false); // would need an empty match at offset len
    assert.equal(matches(".*$", "b"), true); // consumes up to the end from offset 0
    assert.equal(matches("a$b", "ab"), false);
  });

  it("matching is byte-oriented over UTF-8: . is one byte, a multi-byte character is several", () => {
    assert.equal(matches("^.$", "é"), false);
    assert.equal(matches("^..$", "é"), true);
    assert.equal(matches("caf[é]", "café"), true); // [é] holds the two bytes of é
    assert.equal(matches("é+", "caféé"), true);
    assert.equal(matches("^😀$", "😀"), true);
    assert.equal(matches("^....$", "😀"), true);
  });

  it("matching is case-sensitive", () => {
    assert.equal(matches("Temp", "temp"), false);
    assert.equal(matches("Temp", "Temp"), true);
  });

  it("the subject is a C string: it stops at the first NUL byte", () => {
    const p = compilePattern("kitchen");
    assert.equal(p.matches("temp\0kitchen"), false);
    assert.equal(p.matches(Uint8Array.of(0x74, 0x00, ...utf8("kitchen"))), false);
    assert.equal(compilePattern("^temp$").matches("temp\0x"), true);
    assert.equal(compilePattern("").matches("\0abc"), false);
    assert.equal(compilePattern("(k)").matches("temp\0kitchen"), false);
    assert.equal(compilePattern(".").matches(new Uint8Array([0, 0x61])), false);
  });

  it("the pattern is a C string too: nothing after a NUL counts", () => {
    assert.equal(matches("te\0zzz", "temp"), true);
    assert.equal(compilePattern("te\0[").valid, true);
  });

  it(". matches any byte, newline included", () => {
    assert.equal(matches("a.c", "a\nc"), true);
    assert.equal(matches("a.c", "a\u00ffc"), false); // U+00FF is two bytes
    assert.equal(compilePattern("a.c").matches(Uint8Array.of(0x61, 0xff, 0x63)), true);
  });

  it("alternation and groups work (although the zrex docs omit |)", () => {
    assert.equal(matches("temp|humid", "humidity"), true);
    assert.equal(matches("^(temp|humid)\\.", "humid.x"), true);
    assert.equal(matches("^(temp|humid)\\.", "pressure.x"), false);
    assert.equal(matches("(ab)+c", "abac"), false);
    assert.equal(matches("a(|b)c", "ac"), true);
  });

  it("*, +, ? and the lazy *? and +? have their usual meaning (laziness does not change yes/no)", () => {
    assert.equal(matches("^ab*c$", "ac"), true);
    assert.equal(matches("^ab+c$", "ac"), false);
    assert.equal(matches("^ab+c$", "abbbc"), true);
    assert.equal(matches("^ab?c$", "abbc"), false);
    assert.equal(matches("^ab*?c$", "abbc"), true);
    assert.equal(matches("^ab+?c$", "ac"), false);
    assert.equal(matches("^ab??c$", "ac"), true);
  });

  it("no {m,n}: braces are literal bytes", () => {
    assert.equal(matches("^a{1,2}$", "a{1,2}"), true);
    assert.equal(matches("^a{1,2}$", "aa"), false);
    assert.equal(matches("}", "}"), true);
  });

  it("class escapes follow C isspace/isdigit/isalpha/isalnum in the C locale", () => {
    assert.equal(matches("^\\s+$", " \t\n\v\f\r"), true);
    assert.equal(matches("\\s", "a_b"), false);
    assert.equal(matches("^\\d+$", "0123456789"), true);
    assert.equal(matches("\\d", "٣"), false); // non-ASCII digits are not digits
    assert.equal(matches("^\\a+$", "AbcZ"), true);
    assert.equal(matches("\\a", "1_"), false);
    assert.equal(matches("^\\w+$", "abc123XYZ"), true);
    assert.equal(matches("\\w", "_"), false); // isalnum: no underscore, unlike JS \w
    assert.equal(matches("\\W", "_"), true);
    assert.equal(matches("\\S", " \t"), false);
    assert.equal(matches("\\D", "123"), false);
    assert.equal(matches("\\A", "abc"), false);
    assert.equal(matches("\\A", "ab1"), true);
  });

  it("\\n \\r \\t are control bytes; \\0 is NUL, which no subject contains", () => {
    assert.equal(matches("a\\nb", "a\nb"), true);
    assert.equal(matches("\\r\\t", "x\r\t"), true);
    assert.equal(matches("a\\0", "a"), false);
    assert.equal(compilePattern("a\\0").matches(Uint8Array.of(0x61, 0x00)), false);
  });

  it("an escaped meta byte is literal, and \\xDD is not implemented (\\x is a literal x)", () => {
    assert.equal(matches("a\\.b", "a.b"), true);
    assert.equal(matches("a\\.b", "axb"), false);
    for (const meta of ["\\", "^", "$", ".", "(", ")", "[", "]", "*", "+", "?", "|"]) {
      assert.equal(matches(`^\\${meta}$`, meta), true, meta);
    }
    assert.equal(matches("\\x41", "A"), false);
    assert.equal(matches("\\q", "q"), true); // any other escaped byte stands for itself
  });

  it("[...] and [^...] are byte lists; ] outside brackets is literal", () => {
    assert.equal(matches("^[abc]+$", "cab"), true);
    assert.equal(matches("[abc]", "xyz"), false);
    assert.equal(matches("^[^abc]+$", "xyz"), true);
    assert.equal(matches("[^abc]", "abc"), false);
    assert.equal(matches("[.]", "x"), false); // . is literal inside brackets
    assert.equal(matches("]", "]"), true);
    assert.equal(matches("[a-]", "-"), true);
    assert.equal(matches("[-a]", "-"), true);
  });

  it("[] matches nothing and [^] matches any byte, as in the C broker", () => {
    assert.equal(compilePattern("[]").valid, true);
    assert.equal(matches("[]", "[]"), false);
    assert.equal(matches("a[^]", "ab"), true);
    assert.equal(matches("a[^]", "a"), false);
  });

  it("inside brackets a class escape like \\d is not a class (C: [\\d] does not match 5); it adds no byte", () => {
    assert.equal(compilePattern("[\\d]").valid, true);
    for (const s of ["5", "d", "\\"]) assert.equal(matches("[\\d]", s), false, s);
    assert.equal(matches("[\\dx]", "x"), true);
    assert.equal(matches("[\\s]", " "), false);
  });

  it("inside brackets \\n \\r \\t \\0 are control bytes and any other escaped byte is itself", () => {
    assert.equal(matches("[\\t]", "\t"), true);
    assert.equal(matches("[\\t]", "t"), false);
    assert.equal(matches("[\\]]", "]"), true);
    assert.equal(matches("[\\]]", "\\"), false);
    assert.equal(matches("[\\\\]", "\\"), true);
    assert.equal(matches("[\\x]", "x"), true);
    assert.equal(matches("[a\\-z]", "-"), true);
    assert.equal(matches("[a\\-z]", "b"), false); // an escaped - is no range
  });

  it("a ? that opens the pattern or a group repeats nothing and is ignored (valid, as in C)", () => {
    assert.equal(compilePattern("?a").valid, true);
    assert.equal(matches("?a", "xa"), true);
    assert.equal(matches("?a", "x"), false);
    assert.equal(matches("x(?b)", "xb"), true);
    assert.equal(matches("x(?b)", "x"), false);
  });
});

describe("deviations from the C broker (design.md §3, docs/patterns.md)", () => {
  it("deviation: [0-9] is a range (C reads the list 0,-,9): it matches 5 and not -", () => {
    assert.equal(compilePattern("[0-9]").valid, true);
    assert.equal(matches("[0-9]", "5"), true);
    assert.equal(matches("[0-9]", "-"), false);
    assert.equal(matches("^[a-z]+\\.[A-Z0-9_]+$", "temp.ROOM_1"), true);
    assert.equal(matches("[^0-9]", "123"), false);
    assert.equal(matches("[a-c-e]", "-"), true); // after a range, - is literal again
  });

  it("deviation: a reversed range such as [z-a] is invalid and reads as the bytes z, -, a (what C does)", () => {
    const p = compilePattern("[z-a]");
    assert.equal(p.valid, false);
    assert.match(p.error ?? "", /reversed range/);
    assert.equal(p.matches("-"), true);
    assert.equal(p.matches("z"), true);
    assert.equal(p.matches("m"), false);
  });

  it("deviation: every match that exists is found (C's ? and | never give back and miss some)", () => {
    // The C broker answers "no match" to each of these.
    assert.equal(matches("(a|ab)c", "abc"), true);
    assert.equal(matches("^(ab|a)b", "ab"), true);
    assert.equal(matches("a?a", "a"), true);
    assert.equal(matches("\\d?\\d", "1"), true);
    assert.equal(matches("c?.b", "cbx"), true);
  });

  it("deviation: a quantifier after ^ or $ applies to that assertion (C applies it to the atom before)", () => {
    assert.equal(matches("x$*", "b"), false); // x is still required
    assert.equal(matches("a$?", "ab"), true);
    assert.equal(matches("^*a", "ba"), false); // anchored: the source starts with ^
  });
});

describe("invalid patterns: valid=false, a clear error, and a documented behaviour", () => {
  it("unterminated [: the part before it is kept and the rest dropped (C, verified)", () => {
    const p = compilePattern("ab[c");
    assert.equal(p.valid, false);
    assert.match(p.error ?? "", /unterminated character class.*byte 2/);
    assert.equal(p.matches("xab"), true);
    assert.equal(p.matches("ac"), false);
    assert.equal(compilePattern("^[").matches(""), true); // anchored empty program
    assert.equal(compilePattern("a|b[").matches("b"), true);
    assert.equal(compilePattern("a|b[").matches("x"), false);
    assert.equal(compilePattern("[a\\").matches("q"), true);
  });

  it("unclosed (: the group is closed at the end of the pattern", () => {
    const p = compilePattern("x(ab");
    assert.equal(p.valid, false);
    assert.match(p.error ?? "", /"\(" at byte 1 is never closed/);
    assert.equal(p.matches("xab"), true);
    assert.equal(p.matches("x"), false);
    assert.equal(compilePattern("((a|b").matches("b"), true);
  });

  it("stray ): reported and dropped", () => {
    const p = compilePattern("a)b");
    assert.equal(p.valid, false);
    assert.match(p.error ?? "", /"\)" at byte 1 has no matching "\("/);
    assert.equal(p.matches("ab"), true);
    assert.equal(p.matches("a)b"), false);
  });

  it("nothing to repeat: * or + at the start, after ( or after |, is reported and ignored", () => {
    for (const source of ["*", "+", "*abc", "+?x", "(*a)", "a|*b", "a|?b"]) {
      const p = compilePattern(source);
      assert.equal(p.valid, false, source);
      assert.match(p.error ?? "", /nothing to repeat/, source);
    }
    assert.equal(compilePattern("*").matches("anything"), true);
    assert.equal(compilePattern("*").matches(""), false);
    assert.equal(compilePattern("*abc").matches("xabc"), true);
    assert.equal(compilePattern("*abc").matches("xab"), false);
    assert.equal(compilePattern("a|*b").matches("b"), true);
  });

  it("trailing backslash: reported; the dangling escape matches nothing (C's outcome)", () => {
    const p = compilePattern("ab\\");
    assert.equal(p.valid, false);
    assert.match(p.error ?? "", /trailing backslash at byte 2/);
    assert.equal(p.matches("ab\\"), false);
    assert.equal(p.matches("ab"), false);
    assert.equal(compilePattern("x|ab\\").matches("x"), true);
  });

  it("the first error is the one reported", () => {
    const p = compilePattern("a)(b");
    assert.match(p.error ?? "", /"\)" at byte 1/);
  });

  it("a pattern over maxLength bytes is invalid and behaves like the empty pattern", () => {
    const long = "a".repeat(DEFAULT_MAX_PATTERN_LENGTH + 1);
    const p = compilePattern(long);
    assert.equal(p.valid, false);
    assert.match(p.error ?? "", /too long/);
    assert.equal(p.matches("b"), true);
    assert.equal(p.matches(""), false);
    assert.equal(compilePattern("a".repeat(DEFAULT_MAX_PATTERN_LENGTH)).valid, true);
    assert.equal(compilePattern("abcdef", { maxLength: 5 }).valid, false);
    assert.equal(compilePattern("abcde", { maxLength: 5 }).valid, true);
    // the limit counts UTF-8 bytes: é is two
    assert.equal(compilePattern("éé", { maxLength: 3 }).valid, false);
    assert.equal(isValidPattern("éé", { maxLength: 4 }), true);
  });

  it("a valid pattern has no error property", () => {
    const p = compilePattern("^temp\\.[a-z]+$");
    assert.equal(p.valid, true);
    assert.equal(p.error, undefined);
    assert.equal("error" in p, false);
    assert.equal(p.source, "^temp\\.[a-z]+$");
  });

  it("non-string input from untyped callers does not throw", () => {
    const p = compilePattern(42 as unknown as string);
    assert.equal(p.valid, false);
    assert.equal(p.matches("42"), false);
    assert.equal(compilePattern("a").matches(null as unknown as string), false);
    assert.equal(compilePattern("a").matches([0x61] as unknown as Uint8Array), false);
  });
});

describe("pathological patterns always terminate (design.md §3: no backtracking, * cannot hang)", () => {
  const aaa = "a".repeat(100_000);
  const aaaBytes = utf8(aaa);
  const cases: Array<[pattern: string, expected: boolean]> = [
    ["(a*)*b", false],
    ["(a|a)*b", false],
    ["(a|aa)*c", false],
    ["*", true],
    ["+", true],
    ["a**", true],
    ["a**b", false],
    ["(a*)*", true],
    ["()*b", false],
    ["(a?)*$", true],
    ["^(a+)+$", true],
    ["^(a+)+b$", false],
    ["(".repeat(50) + "a" + ")*".repeat(50) + "b", false],
    ["(".repeat(50) + "a*" + ")*".repeat(50) + "$", true],
    ["((((a*)*)*)*)*[^a]", false],
  ];
  for (const [pattern, expected] of cases) {
    const label = pattern.length > 40 ? `${pattern.slice(0, 20)}…${pattern.slice(-12)}` : pattern;
    it(`${JSON.stringify(label)} against a 100,000-byte subject completes (${expected ? "match" : "no match"})`, () => {
      const p = compilePattern(pattern);
      assert.equal(p.matches(aaa), expected);
      assert.equal(p.matches(aaaBytes), expected);
    });
  }

  it("a 200-deep nested group compiles without recursion and matches", () => {
    const deep = "(".repeat(200) + "x" + ")".repeat(200);
    assert.equal(compilePattern(deep).valid, true);
    assert.equal(compilePattern(deep).matches("axb"), true);
    const unclosed = "(".repeat(100_000);
    assert.equal(compilePattern(unclosed, { maxLength: 200_000 }).matches("a"), true);
  });
});

// ---- properties -------------------------------------------------------------------------------

/** Pattern text biased towards syntax, so that random strings hit every parser path. */
const patternText = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "b", "(", ")", "[", "]", "^", "$", "*", "+", "?", "|", ".", "\\", "-", "d", "\0", "é"), maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 24 }),
);
const subjectText = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "b", "d", "1", "-", ".", " ", "\n", "\0", "é", "\ud800", "😀"), maxLength: 16 }),
  fc.string({ unit: "binary", maxLength: 16 }),
);

describe("properties (fast-check)", () => {
  it("compilePattern never throws and matches() never throws, for any pattern and any subject", () => {
    fc.assert(
      fc.property(patternText, subjectText, fc.uint8Array({ maxLength: 16 }), (source, subject, bytes) => {
        const p = compilePattern(source);
        assert.equal(typeof p.valid, "boolean");
        assert.equal(p.valid, p.error === undefined);
        assert.equal(typeof p.matches(subject), "boolean");
        assert.equal(typeof p.matches(bytes), "boolean");
      }),
      { numRuns: 2000 },
    );
  });

  it("a string subject and its UTF-8 bytes always give the same answer", () => {
    fc.assert(
      fc.property(patternText, subjectText, (source, subject) => {
        const p = compilePattern(source);
        assert.equal(p.matches(subject), p.matches(utf8(subject)));
      }),
      { numRuns: 1000 },
    );
  });

  it("the literal fast path agrees with the NFA (a pattern, and the same pattern followed by an empty group)", () => {
    const literal = fc
      .tuple(
        fc.boolean(),
        fc.constantFrom("", ".*", ".*?"),
        fc.array(fc.constantFrom("a", "b", "é", "\\.", "\\\\", "\\n", "\\q", "-", "{", "]"), { maxLength: 4 }),
        fc.constantFrom("", ".*", ".*?"),
        fc.boolean(),
      )
      .map(([bol, lead, body, tail, eol]) => `${bol ? "^" : ""}${lead}${body.join("")}${tail}${eol ? "$" : ""}`);
    const subject = fc.string({ unit: fc.constantFrom("a", "b", "é", ".", "\\", "\n", "q", "-", "{", "]", "\0"), maxLength: 8 });
    fc.assert(
      fc.property(literal, subject, (source, s) => {
        const direct = compilePattern(source);
        const grouped = compilePattern(`${source}()`); // "()" adds nothing but forces the NFA
        assert.equal(direct.valid, true);
        assert.equal(direct.matches(s), grouped.matches(s), `${source} on ${JSON.stringify(s)}`);
        assert.equal(direct.matches(utf8(s)), grouped.matches(utf8(s)));
      }),
      { numRuns: 1500 },
    );
  });

  it("differential against JS RegExp on a safe subset (literals . [..] * + ? | groups; non-empty subjects, search)", () => {
    fc.assert(
      fc.property(safeAst, fc.string({ unit: fc.constantFrom("a", "b", "c", "d"), minLength: 1, maxLength: 10 }), (ast, s) => {
        const source = render(ast);
        const ours = compilePattern(source);
        assert.equal(ours.valid, true, source);
        assert.equal(ours.matches(s), new RegExp(source).test(s), `${source} on ${JSON.stringify(s)}`);
      }),
      { numRuns: 600 },
    );
  });

  it("differential against a set-of-positions reference for the full syntax (^ $ escapes ranges, empty subjects, NUL)", () => {
    fc.assert(
      fc.property(fullAst, referenceSubject, (ast, bytes) => {
        const source = render(ast);
        const ours = compilePattern(source);
        assert.equal(ours.valid, true, source);
        assert.equal(ours.matches(bytes), referenceMatch(ast, source, bytes), `${source} on ${JSON.stringify([...bytes])}`);
      }),
      { numRuns: 1500 },
    );
  });
});

// ---- generated patterns and the reference matcher ------------------------------------------------

type Ast =
  | { t: "lit"; c: string }
  | { t: "any" }
  | { t: "class"; neg: boolean; items: Array<[number, number]> }
  | { t: "esc"; c: string }
  | { t: "bol" }
  | { t: "eol" }
  | { t: "cat"; xs: Ast[] }
  | { t: "alt"; xs: Ast[] }
  | { t: "rep"; q: "*" | "+" | "?" | "*?" | "+?"; x: Ast };

const META = new Set([..."\\^$.()[]*+?|"].map((c) => c.charCodeAt(0)));

function render(n: Ast): string {
  switch (n.t) {
    case "lit":
      return (META.has(n.c.charCodeAt(0)) ? "\\" : "") + n.c;
    case "any":
      return ".";
    case "class":
      return `[${n.neg ? "^" : ""}${n.items.map(([lo, hi]) => (lo === hi ? String.fromCharCode(lo) : `${String.fromCharCode(lo)}-${String.fromCharCode(hi)}`)).join("")}]`;
    case "esc":
      return `\\${n.c}`;
    case "bol":
      return "^";
    case "eol":
      return "$";
    case "cat":
      return n.xs.map((x) => (x.t === "alt" ? `(${render(x)})` : render(x))).join("");
    case "alt":
      return n.xs.map(render).join("|");
    case "rep": {
      const atom = (n.x.t === "lit" && utf8(n.x.c).length === 1) || n.x.t === "any" || n.x.t === "class" || n.x.t === "esc";
      return `${atom ? render(n.x) : `(${render(n.x)})`}${n.q}`;
    }
  }
}

const lits = fc.constantFrom(..."abc1-. é*[{".split(""));
const safeAtom: fc.Arbitrary<Ast> = fc.oneof(
  fc.constantFrom("a", "b", "c").map((c): Ast => ({ t: "lit", c })),
  fc.constant<Ast>({ t: "any" }),
  fc
    .tuple(fc.boolean(), fc.subarray(["a", "b", "c"], { minLength: 1 }))
    .map(([neg, cs]): Ast => ({ t: "class", neg, items: cs.map((c) => [c.charCodeAt(0), c.charCodeAt(0)] as [number, number]) })),
);
const fullAtom: fc.Arbitrary<Ast> = fc.oneof(
  lits.map((c): Ast => ({ t: "lit", c })),
  fc.constant<Ast>({ t: "any" }),
  fc
    .tuple(
      fc.boolean(),
      fc.array(
        fc.oneof(
          fc.constantFrom("a", "b", "c", "1", "x").map((c) => [c.charCodeAt(0), c.charCodeAt(0)] as [number, number]),
          fc.constantFrom<[number, number]>([0x61, 0x63], [0x30, 0x39], [0x41, 0x5a], [0x20, 0x2e]),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([neg, items]): Ast => ({ t: "class", neg, items })),
  fc.constantFrom("d", "D", "s", "S", "w", "W", "a", "A", "n", "t").map((c): Ast => ({ t: "esc", c })),
  fc.constant<Ast>({ t: "bol" }),
  fc.constant<Ast>({ t: "eol" }),
);

function astOf(atom: fc.Arbitrary<Ast>): fc.Arbitrary<Ast> {
  return fc.letrec<{ node: Ast; cat: Ast; alt: Ast; rep: Ast }>((tie) => ({
    node: fc.oneof({ maxDepth: 4, depthSize: "small" }, atom, tie("cat"), tie("alt"), tie("rep")),
    cat: fc.array(tie("node"), { maxLength: 4 }).map((xs): Ast => ({ t: "cat", xs })),
    alt: fc.array(tie("node"), { minLength: 2, maxLength: 3 }).map((xs): Ast => ({ t: "alt", xs })),
    rep: fc
      .tuple(fc.constantFrom<"*" | "+" | "?" | "*?" | "+?">("*", "+", "?", "*?", "+?"), tie("node"))
      .map(([q, x]): Ast => ({ t: "rep", q, x })),
  })).node;
}

const safeAst = astOf(safeAtom);
const fullAst = astOf(fullAtom);
const referenceSubject = fc.oneof(
  fc.array(fc.constantFrom(0x61, 0x62, 0x63, 0x31, 0x2d, 0x2e, 0x20, 0x0a, 0x09, 0x78, 0x41, 0x5f, 0xc3, 0xa9), { maxLength: 8 }),
  fc.array(fc.constantFrom(0x61, 0x62, 0x00, 0x2e), { maxLength: 6 }),
).map((xs) => Uint8Array.from(xs));

/** C-locale classes, written independently of the implementation under test. */
function inEscape(c: string, b: number): boolean {
  const lower = c.toLowerCase();
  const digit = b >= 0x30 && b <= 0x39;
  const alpha = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
  const space = b === 0x20 || (b >= 0x09 && b <= 0x0d);
  if (c === "n") return b === 0x0a;
  if (c === "t") return b === 0x09;
  const hit = lower === "d" ? digit : lower === "s" ? space : lower === "a" ? alpha : digit || alpha;
  return c === lower ? hit : !hit;
}

/** The set of end offsets `n` can reach from each offset in `from` (no backtracking involved). */
function reach(n: Ast, from: Set<number>, s: Uint8Array): Set<number> {
  const step = (test: (b: number) => boolean): Set<number> => {
    const out = new Set<number>();
    for (const p of from) if (p < s.length && test(s[p] as number)) out.add(p + 1);
    return out;
  };
  switch (n.t) {
    case "lit": {
      const want = utf8(n.c);
      const out = new Set<number>();
      for (const p of from) if (want.every((b, k) => s[p + k] === b) && p + want.length <= s.length) out.add(p + want.length);
      return out;
    }
    case "any":
      return step(() => true);
    case "class":
      return step((b) => n.items.some(([lo, hi]) => b >= lo && b <= hi) !== n.neg);
    case "esc":
      return step((b) => inEscape(n.c, b));
    case "bol":
      return new Set([...from].filter((p) => p === 0));
    case "eol":
      return new Set([...from].filter((p) => p === s.length));
    case "cat":
      return n.xs.reduce((acc, x) => reach(x, acc, s), from);
    case "alt":
      return new Set(n.xs.flatMap((x) => [...reach(x, from, s)]));
    case "rep": {
      const star = (start: Set<number>): Set<number> => {
        const all = new Set(start);
        let frontier = start;
        while (frontier.size > 0) {
          const next = new Set([...reach(n.x, frontier, s)].filter((p) => !all.has(p)));
          for (const p of next) all.add(p);
          frontier = next;
        }
        return all;
      };
      if (n.q === "?") return new Set([...from, ...reach(n.x, from, s)]);
      if (n.q === "*" || n.q === "*?") return star(from);
      return star(reach(n.x, from, s));
    }
  }
}

/** §7.1 search rules: anchored ⇔ the source starts with ^; offsets 0..len-1 otherwise; C string. */
function referenceMatch(ast: Ast, source: string, bytes: Uint8Array): boolean {
  const nul = bytes.indexOf(0);
  const s = nul < 0 ? bytes : bytes.subarray(0, nul);
  const starts = source.startsWith("^") ? [0] : [...s.keys()];
  return reach(ast, new Set(starts), s).size > 0;
}
