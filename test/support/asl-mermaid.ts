/**
 * Draws a synthesized state machine (Amazon States Language, JSONPath) as a Mermaid flowchart, so
 * the diagram in the docs is the state machine CDK synthesizes, not a drawing of it: the construct
 * test compares the two and prints the diagram to paste when they differ.
 *
 * Every state is a node (Tasks as rectangles named by what they call, Choices as diamonds, Waits
 * with their timestamp path, Succeed/Fail as rounded ends); edges are Next, each Choice rule
 * (labelled with the value it tests), Default, and Catch (labelled with the errors). Retries are
 * listed in the Task's label.
 */

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly TimestampPath?: string;
  readonly Choices?: readonly { readonly Next: string; readonly [operator: string]: unknown }[];
  readonly Default?: string;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[]; readonly IntervalSeconds?: number; readonly MaxAttempts?: number }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
}

const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
const quote = (text: string) => `"${text.replace(/"/g, "'")}"`;

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function taskLabel(name: string, state: AslState): string {
  const resource = state.Resource ?? '';
  const calls = resource.includes(':::sqs:sendMessage')
    ? 'sqs:sendMessage'
    : resource.includes(':::lambda:invoke')
      ? 'lambda:invoke'
      : 'Lambda';
  const parameters = (state.Parameters?.Payload ?? state.Parameters) as { step?: Record<string, unknown> } | undefined;
  const step = parameters?.step;
  const lines = [name, step ? `${calls} ${JSON.stringify(step).replace(/"/g, '')}` : calls];
  for (const retry of state.Retry ?? []) {
    // Lambda's own transient errors (CDK adds them): summarised, not listed.
    const errors = retry.ErrorEquals.some((e) => e.startsWith('Lambda.')) ? 'Lambda errors' : retry.ErrorEquals.join(', ');
    lines.push(`retry ${errors}: ${retry.MaxAttempts ?? 3} × from ${duration(retry.IntervalSeconds ?? 1)}`);
  }
  return lines.join('<br/>');
}

function choiceLabel(rule: Record<string, unknown>): string {
  for (const [key, value] of Object.entries(rule)) if (key !== 'Next' && key !== 'Variable') return String(value);
  return '?';
}

/** The Mermaid flowchart of `definition`. */
export function aslToMermaid(definition: AslDefinition): string {
  const lines = ['flowchart TD', `  start((start)) --> ${id(definition.StartAt)}`];
  for (const [name, state] of Object.entries(definition.States)) {
    const node = id(name);
    switch (state.Type) {
      case 'Task':
        lines.push(`  ${node}[${quote(taskLabel(name, state))}]`);
        break;
      case 'Choice':
        lines.push(`  ${node}{${quote(name)}}`);
        break;
      case 'Wait':
        lines.push(`  ${node}[/${quote(`${name}<br/>until ${state.TimestampPath ?? '?'}`)}/]`);
        break;
      default:
        lines.push(`  ${node}([${quote(`${name}: ${state.Type}`)}])`);
    }
    if (state.Next) lines.push(`  ${node} --> ${id(state.Next)}`);
    for (const rule of state.Choices ?? []) lines.push(`  ${node} -- ${choiceLabel(rule)} --> ${id(rule.Next)}`);
    if (state.Default) lines.push(`  ${node} -- otherwise --> ${id(state.Default)}`);
    for (const c of state.Catch ?? []) lines.push(`  ${node} -. ${c.ErrorEquals.join(', ')} .-> ${id(c.Next)}`);
  }
  return lines.join('\n');
}
