/** Intrinsic functions and generated names of the local cloud's template model, on hand-made templates. */
import { describe, expect, it } from 'vitest';
import type { AssemblyStack, CfnTemplate } from '../src/assembly';
import { CloudModel, generatedName } from '../src/model';

const stack = (stackName: string, template: CfnTemplate, dependencies: string[] = []): AssemblyStack => ({
  artifactId: stackName,
  stackName,
  template,
  templateFile: `${stackName}.template.json`,
  dependencies,
  assets: new Map(),
});

describe('CloudModel', () => {
  const producer = stack('Producer', {
    Resources: { Table: { Type: 'AWS::DynamoDB::Table', Properties: {} } },
    Outputs: { TableArnOut: { Value: { 'Fn::GetAtt': ['Table', 'Arn'] }, Export: { Name: 'Producer:TableArn' } } },
  });
  const consumer = stack(
    'Consumer',
    {
      Parameters: { Env: { Type: 'String', Default: 'prod' } },
      Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] }, IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] } },
      Mappings: { Sizes: { prod: { memory: 1024 } } },
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Environment: {
              Variables: {
                IMPORTED: { 'Fn::ImportValue': 'Producer:TableArn' },
                JOINED: { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }]] },
                SUBBED: { 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}:${Fn.Arn}:${!Literal}:${Custom}' },
                SUB_VARS: { 'Fn::Sub': ['${A}/${B}', { A: 'one', B: { Ref: 'Env' } }] },
                SELECTED: { 'Fn::Select': [1, { 'Fn::Split': [',', 'x,y,z'] }] },
                IF: { 'Fn::If': ['IsProd', 'big', 'small'] },
                DROPPED: { 'Fn::If': ['IsDev', 'dev', { Ref: 'AWS::NoValue' }] },
                MAPPED: { 'Fn::FindInMap': ['Sizes', 'prod', 'memory'] },
              },
            },
          },
        },
        DevOnly: { Type: 'AWS::SQS::Queue', Condition: 'IsDev' },
        Custom: { Type: 'Custom::Thing' },
      },
    },
    ['Producer'],
  );

  it('resolves Ref, GetAtt, Join, Sub, Select/Split, If, FindInMap, ImportValue and NoValue', () => {
    const model = new CloudModel([producer, consumer], { region: 'eu-west-1' });
    const fn = model.get('Consumer', 'Fn')!;
    const vars = (model.properties(fn).Environment as { Variables: Record<string, unknown> }).Variables;
    const tableName = generatedName('Producer', 'Table', 255);
    expect(vars.IMPORTED).toBe(`arn:aws:dynamodb:eu-west-1:000000000000:table/${tableName}`);
    expect(vars.JOINED).toBe('a-eu-west-1-000000000000');
    expect(vars.SUBBED).toBe(`arn:aws:x:eu-west-1:${fn.arn}:\${Literal}:${model.get('Consumer', 'Custom')!.ref}`);
    expect(vars.SUB_VARS).toBe('one/prod');
    expect(vars.SELECTED).toBe('y');
    expect(vars.IF).toBe('big');
    expect('DROPPED' in vars).toBe(false);
    expect(vars.MAPPED).toBe(1024);
    expect(model.diagnostics.errors).toEqual([]);
  });

  it('leaves out resources whose condition is false', () => {
    const model = new CloudModel([producer, consumer]);
    expect(model.get('Consumer', 'DevOnly')).toBeUndefined();
  });

  it('derives stable physical names within the service limits', () => {
    const a = generatedName('Realtime-dev-Stateless', 'RealtimeGatewayDefaultFunctionABCDEF123456789', 64);
    expect(a).toHaveLength(64);
    expect(a).toBe(generatedName('Realtime-dev-Stateless', 'RealtimeGatewayDefaultFunctionABCDEF123456789', 64));
    expect(a).not.toBe(generatedName('Realtime-dev-Stateless', 'RealtimeGatewayDefaultFunctionABCDEF123456780', 64));
  });

  it('reports unknown intrinsics, references and attributes by location instead of guessing', () => {
    const bad = stack('Bad', {
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            A: { 'Fn::Cidr': ['10.0.0.0/16', 2, 8] },
            B: { Ref: 'Missing' },
            C: { 'Fn::GetAtt': ['Fn', 'Nope'] },
            D: { 'Fn::ImportValue': 'nobody' },
          },
        },
      },
    });
    const model = new CloudModel([bad]);
    model.properties(model.get('Bad', 'Fn')!);
    const messages = model.diagnostics.errors.map((d) => `${d.where}: ${d.message}`);
    expect(messages).toEqual([
      'Bad/Fn/A: intrinsic function Fn::Cidr is not supported by the local cloud',
      'Bad/Fn/B: Ref to unknown resource Missing',
      'Bad/Fn/C: Fn::GetAtt Fn.Nope: attribute not known locally for AWS::Lambda::Function',
      'Bad/Fn/D: Fn::ImportValue: no stack exports "nobody"',
    ]);
    expect(() => model.assertValid()).toThrow(/Bad\/Fn\/A/);
  });

  it('rewrites execute-api URLs to the local endpoint of that API only', () => {
    const model = new CloudModel([producer]);
    model.setApiEndpoints('abc123', { https: 'https://127.0.0.1:3003', wss: 'ws://127.0.0.1:3001' });
    expect(
      model.localize({
        a: 'wss://abc123.execute-api.us-east-1.amazonaws.com/dev',
        b: ['https://abc123.execute-api.us-east-1.amazonaws.com/dev/@connections'],
        c: 'https://zzz999.execute-api.us-east-1.amazonaws.com/',
      }),
    ).toEqual({
      a: 'ws://127.0.0.1:3001/dev',
      b: ['https://127.0.0.1:3003/dev/@connections'],
      c: 'https://zzz999.execute-api.us-east-1.amazonaws.com/',
    });
  });
});
