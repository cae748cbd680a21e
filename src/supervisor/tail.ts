// The last lines a child wrote to stderr: the evidence logged and reported when it dies.

const MAX_LINE = 1000;

export class LineTail {
  readonly #keep: number;
  readonly #lines: string[] = [];
  #partial = '';

  constructor(keep = 20) {
    this.#keep = keep;
  }

  /** Feeds a chunk; returns the complete lines it finished, for passing through whole. */
  push(chunk: string): string[] {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    // A child that never writes a newline must not grow this without bound.
    if (this.#partial.length > MAX_LINE) {
      parts.push(this.#partial);
      this.#partial = '';
    }
    for (const line of parts) this.#add(line);
    return parts;
  }

  /** The unfinished last line, once the stream ended. */
  end(): string | null {
    if (this.#partial === '') return null;
    const line = this.#partial;
    this.#partial = '';
    this.#add(line);
    return line;
  }

  lines(): string[] {
    return [...this.#lines];
  }

  #add(line: string): void {
    this.#lines.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);
    if (this.#lines.length > this.#keep) this.#lines.shift();
  }
}
