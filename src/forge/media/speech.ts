import { fnv1a, rng } from "../bytes.ts";

/**
 * A tiny formant synthesiser: text → letter-to-sound units → a glottal pulse train through
 * three cascaded formant resonators (vowels, nasals, liquids) plus filtered noise (fricatives,
 * bursts). It makes speech-like sound with the text's rhythm, pauses and intonation; it is
 * not intelligible speech and not a neural TTS.
 */

/**
 * A voice: pitch and vocal-tract scale.
 *
 * @example
 * ```ts
 * const { f0, formantScale } = voiceParams("bf_emma");
 * ```
 */
export interface VoiceParams {
  /** Base pitch in Hz. */
  f0: number;
  /** Multiplies every formant frequency (shorter vocal tracts have higher formants). */
  formantScale: number;
}

/**
 * Voice parameters for a Kokoro-style voice id: `af_heart` (American female), `bm_george`
 * (British male)...; a mix such as `af_bella(2)+af_sky(1)` averages its parts by weight.
 * The name seeds small variations so different voices sound different.
 *
 * @example
 * ```ts
 * import { voiceParams } from "malamute/forge";
 * voiceParams("am_adam").f0 < voiceParams("af_heart").f0; // true
 * ```
 */
export function voiceParams(voice: string): VoiceParams {
  let f0 = 0, scale = 0, total = 0;
  for (const part of voice.split("+")) {
    const m = /^([a-z])([a-z])_([a-z0-9]+)(?:\(([0-9.]+)\))?$/.exec(part.trim());
    const gender = m?.[2] ?? "f";
    const weight = m?.[4] ? Number(m[4]) || 1 : 1;
    const h = fnv1a(new TextEncoder().encode(part));
    const jitter = ((h & 0xff) / 255 - 0.5) * 0.12;
    const tract = (((h >> 8) & 0xff) / 255 - 0.5) * 0.06;
    f0 += (gender === "m" ? 118 : 205) * (1 + jitter) * weight;
    scale += (gender === "m" ? 1 : 1.13) * (1 + tract) * weight;
    total += weight;
  }
  return { f0: f0 / total, formantScale: scale / total };
}

type Kind = "vowel" | "voiced" | "fricative" | "plosive" | "silence";

/** One sound unit. Formants in Hz; `noise` is the centre of the frication band. */
interface Unit {
  kind: Kind;
  ms: number;
  formants?: [number, number, number];
  amp: number;
  noise?: number;
  /** Adds voicing under a fricative or plosive (z, v, b, d, g). */
  voicedNoise?: boolean;
}

const V = (f1: number, f2: number, f3: number, ms = 95): Unit => ({ kind: "vowel", ms, formants: [f1, f2, f3], amp: 1 });
const VOWELS: Record<string, Unit> = {
  a: V(730, 1090, 2440), e: V(530, 1840, 2480), i: V(390, 1990, 2550), o: V(570, 840, 2410), u: V(440, 1020, 2240),
  y: V(300, 2200, 2960, 80), ee: V(270, 2290, 3010, 120), oo: V(300, 870, 2240, 120), ou: V(640, 1190, 2390, 120),
  ai: V(660, 1720, 2410, 130), ay: V(530, 1840, 2480, 130), ea: V(270, 2290, 3010, 120), oa: V(570, 840, 2410, 130),
  ow: V(640, 1190, 2390, 120), oi: V(570, 840, 2410, 130), au: V(730, 1090, 2440, 120), ie: V(270, 2290, 3010, 110),
};
const CONSONANTS: Record<string, Unit> = {
  m: { kind: "voiced", ms: 70, formants: [250, 1100, 2200], amp: 0.45 },
  n: { kind: "voiced", ms: 65, formants: [250, 1500, 2500], amp: 0.45 },
  ng: { kind: "voiced", ms: 70, formants: [250, 2000, 2700], amp: 0.4 },
  l: { kind: "voiced", ms: 60, formants: [360, 1300, 2700], amp: 0.6 },
  r: { kind: "voiced", ms: 60, formants: [420, 1300, 1600], amp: 0.6 },
  w: { kind: "voiced", ms: 55, formants: [300, 610, 2200], amp: 0.55 },
  j: { kind: "fricative", ms: 70, noise: 2800, amp: 0.25, voicedNoise: true },
  s: { kind: "fricative", ms: 95, noise: 6200, amp: 0.3 },
  z: { kind: "fricative", ms: 85, noise: 5500, amp: 0.22, voicedNoise: true },
  sh: { kind: "fricative", ms: 100, noise: 3000, amp: 0.32 },
  ch: { kind: "fricative", ms: 95, noise: 3200, amp: 0.3 },
  th: { kind: "fricative", ms: 80, noise: 4800, amp: 0.12 },
  f: { kind: "fricative", ms: 85, noise: 4500, amp: 0.14 },
  v: { kind: "fricative", ms: 70, noise: 4000, amp: 0.12, voicedNoise: true },
  h: { kind: "fricative", ms: 55, noise: 1600, amp: 0.12 },
  p: { kind: "plosive", ms: 75, noise: 900, amp: 0.35 },
  b: { kind: "plosive", ms: 65, noise: 800, amp: 0.3, voicedNoise: true },
  t: { kind: "plosive", ms: 75, noise: 4200, amp: 0.35 },
  d: { kind: "plosive", ms: 65, noise: 3500, amp: 0.3, voicedNoise: true },
  k: { kind: "plosive", ms: 80, noise: 2000, amp: 0.35 },
  g: { kind: "plosive", ms: 70, noise: 1800, amp: 0.3, voicedNoise: true },
};
const ALIASES: Record<string, string[]> = { c: ["k"], q: ["k"], x: ["k", "s"], ph: ["f"], ck: ["k"], wh: ["w"], qu: ["k", "w"] };
const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** A phrase: units plus whether it ends as a question (rising pitch). */
interface Phrase {
  units: Unit[];
  question: boolean;
  /** Pause after the phrase, ms. */
  pause: number;
}

/** Letter-to-sound for one word, greedy on digraphs. */
function wordUnits(word: string): Unit[] {
  const out: Unit[] = [];
  let i = 0;
  while (i < word.length) {
    const two = word.slice(i, i + 2);
    const one = word[i]!;
    if (one === "e" && i === word.length - 1 && i > 1) break; // silent final e
    if (VOWELS[two] && two.length === 2) { out.push(VOWELS[two]!); i += 2; continue; }
    if (CONSONANTS[two] && two.length === 2) { out.push(CONSONANTS[two]!); i += 2; continue; }
    if (ALIASES[two] && two.length === 2) { for (const a of ALIASES[two]!) out.push(CONSONANTS[a]!); i += 2; continue; }
    if (one === "c" && /[eiy]/.test(word[i + 1] ?? "")) { out.push(CONSONANTS["s"]!); i++; continue; }
    if (one === "y" && i === 0) { out.push({ ...VOWELS["ee"]!, ms: 45, amp: 0.6 }); i++; continue; }
    const unit = VOWELS[one] ?? CONSONANTS[one];
    if (unit) out.push(unit);
    else if (ALIASES[one]) for (const a of ALIASES[one]!) out.push(CONSONANTS[a]!);
    i++;
  }
  return out;
}

/**
 * Splits text into phrases at punctuation, spelling digits out. Exported for tests.
 */
export function textToPhrases(text: string): Phrase[] {
  const phrases: Phrase[] = [];
  let units: Unit[] = [];
  const tokens = text.toLowerCase().replace(/[0-9]/g, (d) => ` ${DIGITS[Number(d)]} `).match(/[a-z']+|[.,;:!?]/g) ?? [];
  for (const token of tokens) {
    if (/^[.,;:!?]$/.test(token)) {
      if (units.length) phrases.push({ units, question: token === "?", pause: token === "," ? 180 : token === ";" || token === ":" ? 260 : 420 });
      units = [];
      continue;
    }
    if (units.length) units.push({ kind: "silence", ms: 45, amp: 0 });
    units.push(...wordUnits(token.replace(/'/g, "")));
  }
  if (units.length) phrases.push({ units, question: false, pause: 300 });
  return phrases;
}

/** A two-pole resonator (Klatt's formant filter) whose frequency and bandwidth can move. */
class Resonator {
  #y1 = 0;
  #y2 = 0;
  #a = 1;
  #b = 0;
  #c = 0;
  constructor(private readonly sampleRate: number) {}
  tune(freq: number, bandwidth: number): void {
    const t = 1 / this.sampleRate;
    const f = Math.min(freq, this.sampleRate * 0.45);
    this.#c = -Math.exp(-2 * Math.PI * bandwidth * t);
    this.#b = 2 * Math.exp(-Math.PI * bandwidth * t) * Math.cos(2 * Math.PI * f * t);
    this.#a = 1 - this.#b - this.#c;
  }
  step(x: number): number {
    const y = this.#a * x + this.#b * this.#y1 + this.#c * this.#y2;
    this.#y2 = this.#y1;
    this.#y1 = y;
    return y;
  }
}

/**
 * Options of {@link synthesizeSpeech}.
 *
 * @example
 * ```ts
 * synthesizeSpeech("Hi.", { voice: voiceParams("am_adam"), speed: 1, sampleRate: 24_000, seed: 1, normalize: true });
 * ```
 */
export interface SpeechOptions {
  voice: VoiceParams;
  /** Speaking rate multiplier; 2 = twice as fast. */
  speed: number;
  sampleRate: number;
  /** Seed of the noise sources (breath, frication, pitch jitter). */
  seed: number;
  /** Scale the result so its peak is -1.5 dBFS. Default true. */
  normalize?: boolean;
}

/**
 * Renders text to mono float samples. `onPhrase` is called after each phrase (for progress).
 *
 * @example
 * ```ts
 * import { synthesizeSpeech, voiceParams, encodeWav } from "malamute/forge";
 * const samples = synthesizeSpeech("Hello, world.", { voice: voiceParams("af_heart"), speed: 1, sampleRate: 24000, seed: 1 });
 * const wav = encodeWav(samples, 24000);
 * ```
 */
export function synthesizeSpeech(text: string, options: SpeechOptions, onPhrase?: (done: number, total: number) => void): Float32Array {
  const { voice, speed, sampleRate } = options;
  const phrases = textToPhrases(text);
  const msToSamples = (ms: number) => Math.max(1, Math.round((ms / 1000 / speed) * sampleRate));
  let length = msToSamples(120);
  for (const p of phrases) {
    for (const u of p.units) length += msToSamples(u.ms);
    length += msToSamples(p.pause);
  }
  const out = new Float32Array(length);
  const noise = rng(options.seed);
  const f1 = new Resonator(sampleRate), f2 = new Resonator(sampleRate), f3 = new Resonator(sampleRate);
  const fric = new Resonator(sampleRate);
  const tilt = { y: 0 };
  let pos = msToSamples(60);
  let phase = 0;
  // Smoothed parameters glide between units instead of jumping (coarticulation, no clicks).
  const cur = { f1: 500, f2: 1500, f3: 2500, voice: 0, noise: 0, fc: 3000 };
  const glide = 1 - Math.exp(-1 / (0.012 * sampleRate));
  const ampGlide = 1 - Math.exp(-1 / (0.006 * sampleRate));
  const env = { voiced: 0, hiss: 0 };
  const envRate = 1 - Math.exp(-1 / (0.02 * sampleRate));

  phrases.forEach((phrase, pi) => {
    const phraseLen = phrase.units.reduce((n, u) => n + msToSamples(u.ms), 0);
    let t = 0;
    for (const unit of phrase.units) {
      const n = msToSamples(unit.ms);
      const target = {
        f1: (unit.formants?.[0] ?? cur.f1) * voice.formantScale,
        f2: (unit.formants?.[1] ?? cur.f2) * voice.formantScale,
        f3: (unit.formants?.[2] ?? cur.f3) * voice.formantScale,
        voice: unit.kind === "vowel" || unit.kind === "voiced" ? unit.amp : unit.voicedNoise ? 0.25 : 0,
        noise: unit.kind === "fricative" ? unit.amp : 0,
        fc: unit.noise ?? cur.fc,
      };
      for (let i = 0; i < n && pos < out.length; i++, pos++, t++) {
        // Plosives: closure (silence) for the first 60%, then a short noise burst.
        let noiseTarget = target.noise;
        if (unit.kind === "plosive") noiseTarget = i > n * 0.6 ? unit.amp : 0;
        if ((i & 31) === 0) {
          cur.f1 += (target.f1 - cur.f1) * Math.min(1, glide * 32);
          cur.f2 += (target.f2 - cur.f2) * Math.min(1, glide * 32);
          cur.f3 += (target.f3 - cur.f3) * Math.min(1, glide * 32);
          cur.fc = target.fc;
          f1.tune(cur.f1, 80);
          f2.tune(cur.f2, 100);
          f3.tune(cur.f3, 140);
          fric.tune(cur.fc, cur.fc / 4);
        }
        cur.voice += (target.voice - cur.voice) * ampGlide;
        cur.noise += (noiseTarget - cur.noise) * ampGlide;
        // Intonation: declines through the phrase, rises at the end of a question.
        const progress = t / Math.max(1, phraseLen);
        let f0 = voice.f0 * (1.08 - 0.18 * progress) * (1 + 0.015 * Math.sin((2 * Math.PI * 5.5 * pos) / sampleRate));
        if (phrase.question && progress > 0.7) f0 *= 1 + (progress - 0.7) * 1.2;
        phase += f0 / sampleRate;
        let pulse = 0;
        if (phase >= 1) {
          phase -= 1;
          pulse = 1;
        }
        // Glottal source: impulse train through a one-pole low-pass (spectral tilt), plus breath.
        tilt.y = 0.92 * tilt.y + pulse;
        const source = (tilt.y - (f0 / sampleRate) / 0.08) * 0.3 + (noise() - 0.5) * 0.08;
        // The resonators' gain differs a lot between formant sets (an "ee" comes out 15 dB
        // quieter than an "ah"), so each path is levelled by its own envelope before mixing.
        const voicedRaw = f3.step(f2.step(f1.step(source)));
        const hissRaw = fric.step((noise() - 0.5) * 2);
        env.voiced += (Math.abs(voicedRaw) - env.voiced) * envRate;
        env.hiss += (Math.abs(hissRaw) - env.hiss) * envRate;
        out[pos] = (voicedRaw / Math.max(env.voiced, 1e-4)) * cur.voice * 0.5 +
          (hissRaw / Math.max(env.hiss, 1e-4)) * cur.noise * 0.35;
      }
    }
    pos = Math.min(out.length, pos + msToSamples(phrase.pause));
    onPhrase?.(pi + 1, phrases.length);
  });

  // Remove DC, then normalise the peak to -1.5 dBFS.
  let mean = 0;
  for (let i = 0; i < out.length; i++) mean += out[i]!;
  mean /= Math.max(1, out.length);
  let peak = 0;
  let prevIn = 0, prevOut = 0;
  for (let i = 0; i < out.length; i++) {
    const x = out[i]! - mean;
    const y = x - prevIn + 0.995 * prevOut; // DC-blocking high-pass
    prevIn = x;
    prevOut = y;
    out[i] = y;
    peak = Math.max(peak, Math.abs(y));
  }
  if (peak > 0 && options.normalize !== false) for (let i = 0; i < out.length; i++) out[i] = (out[i]! / peak) * 0.84;
  return out;
}
