// A CDK app that sends email with SES v2: a verified sender address and a verified domain, a stored
// template, and a function behind an HTTP API that sends one simple and one templated email.
// `npx local-cloud` in this folder runs it; the mail lands at GET {controlUrl}/ses/messages.
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ses from 'aws-cdk-lib/aws-ses';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';

const app = new App();
const stack = new Stack(app, 'MailLocalCloud');

const sender = new ses.EmailIdentity(stack, 'Sender', { identity: ses.Identity.email('noreply@example.com') });
// A domain identity: any address at example.org (and its subdomains) may send.
const domain = new ses.EmailIdentity(stack, 'Domain', { identity: ses.Identity.domain('example.org') });
const welcome = new ses.CfnTemplate(stack, 'Welcome', {
  template: {
    subjectPart: 'Welcome, {{name}}!',
    textPart: 'Hello {{name}},\n{{#each items}}\n- {{this}}\n{{/each}}\nSee you soon.',
    htmlPart: '<p>Hello <b>{{name}}</b></p>',
  },
});

// Inline code keeps the example free of a bundler; the AWS SDK v3 comes from the runtime, as in Lambda.
// POST /send {"to":[...],"cc":[...],"bcc":[...],"from":"...","name":"..."}: `from` defaults to the
// verified sender; the answer has both MessageIds, or the SDK's error name and message.
const mailer = new lambda.Function(stack, 'Mailer', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  environment: { FROM: sender.emailIdentityName, WELCOME_TEMPLATE: welcome.ref },
  code: lambda.Code.fromInline(`
const { SESv2Client, SendEmailCommand } = require('@aws-sdk/client-sesv2');
const ses = new SESv2Client({});
exports.handler = async (event) => {
  const input = JSON.parse(event.body ?? '{}');
  const from = input.from ?? process.env.FROM;
  const Destination = { ToAddresses: input.to, CcAddresses: input.cc, BccAddresses: input.bcc };
  try {
    const simple = await ses.send(new SendEmailCommand({
      FromEmailAddress: from,
      Destination,
      ReplyToAddresses: input.replyTo,
      ConfigurationSetName: 'ignored-locally',
      Content: { Simple: {
        Subject: { Data: 'Your receipt', Charset: 'UTF-8' },
        Body: { Text: { Data: 'Thanks, ' + input.name + '.', Charset: 'UTF-8' }, Html: { Data: '<p>Thanks, ' + input.name + '.</p>' } },
      } },
    }));
    const templated = await ses.send(new SendEmailCommand({
      FromEmailAddress: from,
      Destination,
      Content: { Template: { TemplateName: process.env.WELCOME_TEMPLATE, TemplateData: JSON.stringify({ name: input.name, items: ['a', 'b'] }) } },
    }));
    return { statusCode: 200, body: JSON.stringify({ simple: simple.MessageId, templated: templated.MessageId }) };
  } catch (error) {
    return { statusCode: 400, body: JSON.stringify({ error: error.name, status: error.$metadata?.httpStatusCode, message: error.message }) };
  }
};`),
});
sender.grantSendEmail(mailer);
domain.grantSendEmail(mailer);

const http = new HttpApi(stack, 'Http');
http.addRoutes({ path: '/send', methods: [HttpMethod.POST], integration: new HttpLambdaIntegration('Mailer', mailer) });
new CfnOutput(stack, 'Url', { value: http.apiEndpoint });
new CfnOutput(stack, 'DkimName', { value: domain.dkimDnsTokenName1 });
new CfnOutput(stack, 'DkimValue', { value: domain.dkimDnsTokenValue1 });
new CfnOutput(stack, 'TemplateName', { value: welcome.ref });

app.synth();
