/**
 * LocalCloud.start as a whole: every service a module serves reaches functions' SDK clients through
 * `AWS_ENDPOINT_URL_<SDK service id>` and is listed in endpoints.json, and a template error that a
 * service reports while it loads stops start-up before any API opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { CfnQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { startCloud, synthFixture, type TestCloud } from '../src/testing';
import { DynamoDbServer } from '../src/dynamodb/server';

/** Answers with the endpoint variables of its environment. */
const ENDPOINTS = `exports.handler = async () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('AWS_ENDPOINT_URL')));`;

/** The ENDPOINTS function, as the `$connect` route of a WebSocket API (stage `dev`). */
function endpointsBehindWebSocket(stack: Stack, functionId: string): void {
  const fn = new LambdaFunction(stack, functionId, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline(ENDPOINTS),
  });
  const api = new WebSocketApi(stack, 'Socket', { connectRouteOptions: { integration: new WebSocketLambdaIntegration('Connect', fn) } });
  new WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'dev', autoDeploy: true });
}

let dynamodb: DynamoDbServer;
let test: TestCloud;

beforeAll(async () => {
  dynamodb = await DynamoDbServer.start();
  const assembly = synthFixture((app) => {
    const stack = new Stack(app, 'CloudFixture');
    endpointsBehindWebSocket(stack, 'Endpoints');
    new Queue(stack, 'Jobs');
  });
  test = await startCloud(assembly, { dynamodb });
});

afterAll(async () => {
  await test?.stop();
  await dynamodb?.stop();
});

describe('LocalCloud.start', () => {
  it("points functions' SDK at every service of endpoints.json, and anything else at the control API", async () => {
    const { endpoints, lambda } = test.cloud;
    expect(Object.keys(endpoints.services)).toEqual([
      'lambda',
      'secretsmanager',
      'sesv2',
      'sqs',
      'events',
      'states',
      'scheduler',
      'apigatewaymanagementapi',
      'dynamodb',
      'dynamodbstreams',
    ]);
    const result = await lambda.invoke([...lambda.functions.keys()][0]!, {});
    if (!result.ok) throw new Error(result.error.errorMessage);
    const ids: Record<string, string> = {
      lambda: 'LAMBDA',
      secretsmanager: 'SECRETS_MANAGER',
      // @aws-sdk/client-sesv2's service id is "SESv2".
      sesv2: 'SESV2',
      sqs: 'SQS',
      events: 'EVENTBRIDGE',
      states: 'SFN',
      scheduler: 'SCHEDULER',
      apigatewaymanagementapi: 'APIGATEWAYMANAGEMENTAPI',
      dynamodb: 'DYNAMODB',
      dynamodbstreams: 'DYNAMODB_STREAMS',
    };
    expect(JSON.parse(result.payload)).toEqual({
      AWS_ENDPOINT_URL: `${endpoints.controlUrl}/unsupported-service`,
      ...Object.fromEntries(Object.entries(endpoints.services).map(([key, url]) => [`AWS_ENDPOINT_URL_${ids[key]}`, url])),
    });
    expect(endpoints.services.apigatewaymanagementapi).toBe(endpoints.wsUrl!.replace(/^ws:/, 'http:'));
    expect(Object.values(endpoints.resources.CloudFixture!).find((r) => r.type === 'AWS::SQS::Queue')).toMatchObject({
      url: expect.stringMatching(new RegExp(`^${endpoints.controlUrl}/000000000000/`)),
    });
  });

  it('stops before opening any API when a service finds a template error while loading', async () => {
    const assembly = synthFixture((app) => {
      const stack = new Stack(app, 'BrokenFixture');
      endpointsBehindWebSocket(stack, 'Fn');
      new CfnQueue(stack, 'Bad', { queueName: 'not a queue name' });
    });
    // The first WebSocket API's port is taken: opening it would fail start-up with another error.
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const wsPort = (taken.address() as { port: number }).port;
    try {
      const error = await startCloud(assembly, { dynamodb, wsPort }).then(
        async (unexpected) => {
          await unexpected.stop();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/"not a queue name" is not a valid queue name/);
    } finally {
      taken.close();
    }
  });
});
