// A CDK app that is not the platform: an HTTP API whose POST writes to a table, whose stream a
// second function follows, counting writes in the same table. `npx local-cloud` in this folder runs it.
import { App, Stack, CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';

const app = new App();
const stack = new Stack(app, 'HelloLocalCloud');
const greeting = app.node.tryGetContext('greeting') ?? 'hi';

const table = new dynamodb.Table(stack, 'Notes', {
  partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  stream: dynamodb.StreamViewType.NEW_IMAGE,
  removalPolicy: RemovalPolicy.DESTROY,
});

// Inline code keeps the example free of a bundler; the AWS SDK v3 comes from the runtime, as in Lambda.
const api = new lambda.Function(stack, 'Api', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  environment: { TABLE_NAME: table.tableName, GREETING: greeting },
  code: lambda.Code.fromInline(`
const { DynamoDBClient, PutItemCommand, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const db = new DynamoDBClient({});
exports.handler = async (event) => {
  if (event.requestContext.http.method === 'POST') {
    const id = event.pathParameters.id;
    await db.send(new PutItemCommand({ TableName: process.env.TABLE_NAME, Item: { id: { S: id }, text: { S: event.body ?? '' } } }));
    return { statusCode: 201, body: JSON.stringify({ id }) };
  }
  const got = await db.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { id: { S: 'writes' } }, ConsistentRead: true }));
  return { statusCode: 200, body: JSON.stringify({ greeting: process.env.GREETING, writes: Number(got.Item?.count?.N ?? 0) }) };
};`),
});
table.grantReadWriteData(api);

const counter = new lambda.Function(stack, 'Counter', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  environment: { TABLE_NAME: table.tableName },
  code: lambda.Code.fromInline(`
const { DynamoDBClient, UpdateItemCommand } = require('@aws-sdk/client-dynamodb');
const db = new DynamoDBClient({});
exports.handler = async (event) => {
  const notes = event.Records.filter((r) => r.dynamodb.Keys.id.S !== 'writes').length;
  if (notes) await db.send(new UpdateItemCommand({ TableName: process.env.TABLE_NAME, Key: { id: { S: 'writes' } },
    UpdateExpression: 'ADD #c :n', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':n': { N: String(notes) } } }));
};`),
});
table.grantReadWriteData(counter);
counter.addEventSource(new DynamoEventSource(table, { startingPosition: lambda.StartingPosition.LATEST, batchSize: 10 }));

const http = new HttpApi(stack, 'Http');
const integration = new HttpLambdaIntegration('Api', api);
http.addRoutes({ path: '/notes/{id}', methods: [HttpMethod.POST], integration });
http.addRoutes({ path: '/stats', methods: [HttpMethod.GET], integration });
new CfnOutput(stack, 'Url', { value: http.apiEndpoint });

app.synth();
