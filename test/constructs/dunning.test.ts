/**
 * The Dunning construct as CDK synthesizes it: a Standard state machine whose Waits read the plan's
 * timestamps, whose steps retry what must be retried and skip a day every provider was down,
 * logging and tracing on, an alarm on failed executions; and the diagram in docs/billing.md drawn
 * from this very definition.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { Dunning } from '../../lib/constructs/dunning';
import { type AslDefinition, aslToMermaid } from '../support/asl-mermaid';

function synth() {
  const stack = new Stack(new App(), 'Test');
  const stepFunction = new LambdaFunction(stack, 'Step', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({})'),
  });
  new Dunning(stack, 'Dunning', { stepFunction, notificationQueue: new Queue(stack, 'Notices') });
  const template = Template.fromStack(stack);
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  // DefinitionString is Fn::Join of literal parts and tokens (ARNs, the queue URL): the tokens
  // become placeholders, which is all the structure needs.
  const parts = (machine!.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('')) as AslDefinition;
  return { template, machine: machine!, definition };
}

const { template, machine, definition } = synth();
const states = definition.States;

describe('Dunning', () => {
  it('is a Standard state machine with logs of every event, X-Ray tracing and a timeout past the week', () => {
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    const definitionTimeout = (JSON.parse(JSON.stringify(definition)) as { TimeoutSeconds?: number }).TimeoutSeconds;
    expect(definitionTimeout).toBe(10 * 86_400);
  });

  it('waits for the timestamps of the plan (day 1, 3, 5 and 7), never for durations', () => {
    const waits = Object.entries(states).filter(([, s]) => s.Type === 'Wait');
    expect(Object.fromEntries(waits.map(([name, s]) => [name, s.TimestampPath]))).toEqual({
      WaitDay1: '$.retries[0].at',
      WaitDay3: '$.retries[1].at',
      WaitDay5: '$.retries[2].at',
      WaitDay7: '$.expireAt',
    });
  });

  it('passes each step its action and the execution input, and keeps the plan in the state', () => {
    expect(states.RetryDay3?.Parameters).toEqual({ step: { action: 'retry', attempt: 2 }, 'plan.$': '$$.Execution.Input' });
    for (const name of ['Begin', 'RetryDay1', 'RetryDay3', 'RetryDay5', 'Expire']) {
      expect((states[name] as { ResultPath?: string }).ResultPath, name).toBe('$.step');
    }
  });

  it('retries a charge under way within minutes, and every provider down hourly for 6 hours, then goes on to the next day', () => {
    const retry = states.RetryDay1!;
    expect(retry.Retry).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ErrorEquals: ['Dunning.ChargeInProgress'], IntervalSeconds: 60, MaxAttempts: 8 }),
        expect.objectContaining({ ErrorEquals: ['Dunning.ProvidersUnavailable'], IntervalSeconds: 3600, MaxAttempts: 6, BackoffRate: 1 }),
      ]),
    );
    expect(retry.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['Dunning.ProvidersUnavailable'], Next: 'WaitDay3' })]);
    expect(states.RetryDay5?.Catch?.[0]?.Next).toBe('WaitDay7');
  });

  it('sends every notice as the JSON text the step built', () => {
    const notices = Object.entries(states).filter(([, s]) => s.Resource?.includes('sqs:sendMessage'));
    expect(notices.map(([name]) => name).sort()).toEqual(
      ['NoticeExpired', 'NoticePaymentFailed', 'ReminderDay1', 'ReminderDay3', 'ReminderDay5'].sort(),
    );
    for (const [, s] of notices) expect(s.Parameters?.['MessageBody.$']).toBe('States.JsonToString($.step.notice)');
  });

  it('may invoke the step function and send to the notification queue, nothing else', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const actions = policies.flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((s) => [s.Action].flat()),
    );
    expect(new Set(actions)).toEqual(
      new Set([
        'lambda:InvokeFunction',
        'sqs:SendMessage',
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ]),
    );
  });

  it('alarms on a failed execution', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', Threshold: 1 });
  });

  it('is drawn in docs/billing.md as synthesized', () => {
    const docs = readFileSync(new URL('../../docs/billing.md', import.meta.url), 'utf8');
    const drawn = /<!-- dunning-diagram:start -->\n```mermaid\n([\s\S]*?)\n```\n<!-- dunning-diagram:end -->/.exec(docs)?.[1];
    const expected = aslToMermaid(definition);
    expect(drawn, `docs/billing.md needs this between its dunning-diagram markers:\n\`\`\`mermaid\n${expected}\n\`\`\``).toBe(expected);
  });
});
