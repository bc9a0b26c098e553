/** Largest amount one CREDIT message can carry (16-bit field). */
export const MAX_CREDIT_AMOUNT = 0xffff;

/**
 * Client-side credit accounting.
 *
 * `balance` is what the broker should hold for us right now: the window, minus every
 * delivery received, plus every credit granted back. Each new session starts by announcing
 * the whole balance, so a re-opened session resumes with exactly the room the application
 * has left (the broker forgot the old session's credit).
 *
 * In automatic mode consumed deliveries are returned in batches of a quarter window, which
 * keeps CREDIT traffic small while the broker never runs dry as long as the application keeps
 * consuming: with r unreported consumptions (r < batch), the buffer still holds at least
 * window - r deliveries whenever the broker's credit is zero.
 */
export class CreditWindow {
  readonly enabled: boolean;
  readonly manual: boolean;
  readonly window: number;
  readonly #batch: number;
  readonly #write: (amount: number) => void;
  #balance: number;
  #unreported = 0;

  /** `write` sends one CREDIT now if the session is open and does nothing otherwise. */
  constructor(window: number | false, manual: boolean, write: (amount: number) => void) {
    this.enabled = window !== false;
    this.manual = manual;
    this.window = window === false ? 0 : window;
    this.#balance = this.window;
    this.#batch = Math.max(1, Math.ceil(this.window / 4));
    this.#write = write;
  }

  get balance(): number {
    return this.#balance;
  }

  /** A session just opened: announce the current balance (a first CREDIT, even of 0, makes the broker credit-aware). */
  sessionOpened(): void {
    if (!this.enabled) return;
    this.#unreported = 0;
    this.#announce(Math.max(0, this.#balance), true);
  }

  /** The broker sent one delivery. */
  delivered(): void {
    if (this.enabled) this.#balance--;
  }

  /** The application consumed one delivery (or it was dropped): in automatic mode, give it back. */
  consumed(): void {
    if (!this.enabled || this.manual) return;
    if (++this.#unreported >= this.#batch) {
      const amount = this.#unreported;
      this.#unreported = 0;
      this.#balance += amount;
      this.#announce(amount, false);
    }
  }

  /** Explicit grant (manualCredit mode, or extra room in automatic mode). */
  add(amount: number): void {
    this.#balance += amount;
    this.#announce(amount, false);
  }

  #announce(amount: number, evenIfZero: boolean): void {
    if (amount === 0 && !evenIfZero) return;
    do {
      const part = Math.min(amount, MAX_CREDIT_AMOUNT);
      this.#write(part);
      amount -= part;
    } while (amount > 0);
  }
}
