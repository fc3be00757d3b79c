/**
 * The cursor the JSONPath and intrinsic-function parsers share: the text, a position in it, the
 * steps both take over it, and an error each parser words its own way.
 */
export abstract class Scanner {
  protected pos = 0;

  constructor(protected readonly text: string) {}

  protected skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  protected expect(c: string): void {
    if (this.text[this.pos] !== c) this.fail(`expected "${c}"`);
    this.pos++;
  }

  protected abstract fail(message: string): never;
}
