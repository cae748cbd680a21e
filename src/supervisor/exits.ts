// The exits of one program's copies: the last few for reports, and whether the program is flapping —
// its copies keep dying young. Flapping ends only when a copy has run stably again.

export interface ExitRecord {
  /** Epoch ms. */
  at: number;
  code: number | null;
  signal: string | null;
  /** The copy's process id: the server matches it to the worker connection it had (crash evidence). */
  pid?: number | null;
  /** The end of its stderr, at most STDERR_EVIDENCE_CHARS. */
  stderr?: string;
  /** Why the supervisor ended it, when it did (a stuck copy killed). */
  message?: string;
}

/** How much of a dead copy's stderr goes to the server with its exit. */
export const STDERR_EVIDENCE_CHARS = 4096;

export interface FlapSettings {
  /** This many short runs within windowMs make a program flapping. */
  exits: number;
  windowMs: number;
}

const KEEP = 10;

export class ExitHistory {
  readonly #settings: FlapSettings;
  readonly last: ExitRecord[] = [];
  #shortRuns: number[] = [];
  #flapping = false;

  constructor(settings: FlapSettings) {
    this.#settings = settings;
  }

  get flapping(): boolean {
    return this.#flapping;
  }

  /**
   * Records an exit; `short` = the copy died before it counted as stable. Returns true when this exit
   * turned the program flapping.
   */
  record(exit: ExitRecord, short: boolean): boolean {
    this.last.push(exit);
    if (this.last.length > KEEP) this.last.shift();
    if (!short) return false;
    this.#shortRuns = this.#shortRuns.filter((at) => at > exit.at - this.#settings.windowMs);
    this.#shortRuns.push(exit.at);
    if (this.#flapping || this.#shortRuns.length < this.#settings.exits) return false;
    this.#flapping = true;
    return true;
  }

  /** A copy ran stably. Returns true when that ended flapping. */
  stable(): boolean {
    this.#shortRuns = [];
    const was = this.#flapping;
    this.#flapping = false;
    return was;
  }
}
