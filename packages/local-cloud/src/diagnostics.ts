/**
 * Start-up diagnostics of the local cloud.
 *
 * The local cloud promises never to ignore a piece of a template silently: anything it cannot
 * emulate is named here (stack/logical id, property path) and printed at start-up, and anything
 * it cannot even interpret (an unknown intrinsic, a reference to a missing resource) is an error.
 */
export type Severity = 'error' | 'unsupported' | 'ignored';

export interface Diagnostic {
  readonly severity: Severity;
  /** Where: `Stack/LogicalId` optionally followed by a property path. */
  readonly where: string;
  readonly message: string;
}

export class Diagnostics {
  readonly items: Diagnostic[] = [];

  error(where: string, message: string): void {
    this.items.push({ severity: 'error', where, message });
  }

  /** A template piece with an effect in AWS that the local cloud does not reproduce. */
  unsupported(where: string, message: string): void {
    this.items.push({ severity: 'unsupported', where, message });
  }

  /** A template piece deliberately without local effect (IAM, logging, metrics). */
  ignored(where: string, message: string): void {
    this.items.push({ severity: 'ignored', where, message });
  }

  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error');
  }

  get unsupportedItems(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'unsupported');
  }

  /** Human-readable report: errors and unsupported pieces one per line, ignored ones summarised. */
  format(): string {
    const lines: string[] = [];
    for (const d of this.errors) lines.push(`  error        ${d.where}: ${d.message}`);
    for (const d of this.unsupportedItems) lines.push(`  unsupported  ${d.where}: ${d.message}`);
    const ignored = this.items.filter((d) => d.severity === 'ignored');
    if (ignored.length > 0) {
      const byMessage = new Map<string, number>();
      for (const d of ignored) byMessage.set(d.message, (byMessage.get(d.message) ?? 0) + 1);
      const summary = [...byMessage].map(([m, n]) => `${n} × ${m}`).join('; ');
      lines.push(`  no local effect: ${summary}`);
    }
    return lines.join('\n');
  }
}

/** Thrown when the template cannot be run at all; carries every error found, not just the first. */
export class TemplateError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`The cloud assembly cannot be run locally:\n${diagnostics.map((d) => `  ${d.where}: ${d.message}`).join('\n')}`);
    this.name = 'TemplateError';
  }
}
