/**
 * The local SES v2 through the real `@aws-sdk/client-sesv2`: the example app in `examples/ses` (a
 * verified address, a verified domain, a stored template, and a function behind an HTTP API that
 * sends one simple and one templated email with the SDK it finds through AWS_ENDPOINT_URL_SESV2),
 * SendEmail's content kinds and its errors as the function and a client see them, the mailbox on
 * the control API (`GET` / `DELETE /ses/messages`), the one log line per message, malformed input,
 * and the template renderer and address parser on their own.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CreateEmailTemplateCommand,
  DeleteEmailTemplateCommand,
  GetEmailTemplateCommand,
  ListEmailTemplatesCommand,
  SendEmailCommand,
  SESv2Client,
  UpdateEmailTemplateCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import { synthesize } from '../src/synth';
import { clientConfig, rejection, startCloud, type TestCloud } from '../src/testing';
import { parseAddress, VerifiedIdentities } from '../src/ses/identities';
import { Mailbox, type StoredEmail } from '../src/ses/mailbox';
import { compileTemplate, RenderingFailure, TemplateSyntaxError } from '../src/ses/template';

const example = fileURLToPath(new URL('../examples/ses', import.meta.url));
const START = Date.parse('2030-03-01T09:00:00Z');
const MESSAGE_ID = /^0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$/;

let local: TestCloud;
let client: SESv2Client;
let controlUrl: string;
let templateName: string;

interface MailerAnswer {
  readonly simple?: string;
  readonly templated?: string;
  readonly error?: string;
  readonly status?: number;
  readonly message?: string;
}

/** Runs the example's function through its HTTP API. */
async function mailer(input: Record<string, unknown>): Promise<{ status: number; body: MailerAnswer }> {
  const res = await fetch(`${local.cloud.endpoints.httpUrl}/send`, { method: 'POST', body: JSON.stringify(input) });
  return { status: res.status, body: (await res.json()) as MailerAnswer };
}

async function mailbox(to?: string): Promise<StoredEmail[]> {
  const res = await fetch(`${controlUrl}/ses/messages${to === undefined ? '' : `?to=${encodeURIComponent(to)}`}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: StoredEmail[] }).messages;
}

const simple = (from: string, to: string[], subject = 'Hi'): SendEmailCommandInput => ({
  FromEmailAddress: from,
  Destination: { ToAddresses: to },
  Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'text' } } } },
});

const logLines = (prefix: string) => local.messages.filter((line) => line.startsWith(prefix));

beforeAll(async () => {
  const assembly = await synthesize({ app: 'node app.mjs', cwd: example, outdir: mkdtempSync(join(tmpdir(), 'ses-cdk-out-')) });
  // A frozen clock: sentAt is exactly the virtual time.
  local = await startCloud(assembly, { clockFactor: 0, clockStart: START });
  controlUrl = local.cloud.endpoints.controlUrl;
  client = new SESv2Client(clientConfig(local.cloud, 'sesv2'));
  templateName = String(local.cloud.endpoints.outputs.MailLocalCloud!.TemplateName);
});

afterAll(async () => {
  client?.destroy();
  await local?.stop();
});

beforeEach(async () => {
  const res = await fetch(`${controlUrl}/ses/messages`, { method: 'DELETE' });
  expect(res.status).toBe(200);
});

describe('the example app', () => {
  it('runs its SES resources: identities and the template emulated, DKIM attributes resolved, the SDK endpoint served', () => {
    const report = local.messages.join('\n');
    expect(report).not.toMatch(/AWS::SES::(EmailIdentity|Template) is not emulated/);
    expect(local.cloud.endpoints.services.sesv2).toBe(controlUrl);
    const outputs = local.cloud.endpoints.outputs.MailLocalCloud!;
    expect(outputs.DkimName).toMatch(/^[a-z0-9]{32}\._domainkey\.example\.org$/);
    expect(outputs.DkimValue).toMatch(/^[a-z0-9]{32}\.dkim\.amazonses\.com$/);
    expect(String(outputs.DkimName).split('.')[0]).toBe(String(outputs.DkimValue).split('.')[0]);
    expect(templateName).toMatch(/^MailLocalCloud-Welcome-[0-9A-F]{12}$/);
    const resources = Object.values(local.cloud.endpoints.resources.MailLocalCloud!);
    const identities = resources.filter((r) => r.type === 'AWS::SES::EmailIdentity').map((r) => [r.physicalId, r.arn]);
    expect(identities.sort()).toEqual([
      ['example.org', 'arn:aws:ses:us-east-1:000000000000:identity/example.org'],
      ['noreply@example.com', 'arn:aws:ses:us-east-1:000000000000:identity/noreply@example.com'],
    ]);
  });

  it('lets a function send a simple and a templated email with the SDK; the mailbox has both, oldest first', async () => {
    const { status, body } = await mailer({ to: ['alice@example.net'], replyTo: ['help@example.com'], name: 'Alice' });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.simple).toMatch(MESSAGE_ID);
    expect(body.templated).toMatch(MESSAGE_ID);
    const sentAt = new Date(START).toISOString();
    expect(await mailbox()).toEqual([
      {
        messageId: body.simple,
        from: 'noreply@example.com',
        to: ['alice@example.net'],
        cc: [],
        bcc: [],
        replyTo: ['help@example.com'],
        subject: 'Your receipt',
        text: 'Thanks, Alice.',
        html: '<p>Thanks, Alice.</p>',
        sentAt,
      },
      {
        messageId: body.templated,
        from: 'noreply@example.com',
        to: ['alice@example.net'],
        cc: [],
        bcc: [],
        replyTo: [],
        subject: 'Welcome, Alice!',
        text: 'Hello Alice,\n- a\n- b\nSee you soon.',
        html: '<p>Hello <b>Alice</b></p>',
        template: { name: templateName, data: { name: 'Alice', items: ['a', 'b'] } },
        sentAt,
      },
    ]);
  });

  it('stamps messages with the virtual clock', async () => {
    await local.cloud.clock.advance(3600);
    const { status } = await mailer({ to: ['clock@example.net'], name: 'Later' });
    expect(status).toBe(200);
    const [first] = await mailbox('clock@example.net');
    expect(first!.sentAt).toBe(new Date(local.cloud.clock.now()).toISOString());
    expect(Date.parse(first!.sentAt)).toBeGreaterThanOrEqual(START + 3_600_000);
    // The MessageId carries the same time, as SES's do.
    expect(Number.parseInt(first!.messageId.slice(4, 16), 16)).toBe(Date.parse(first!.sentAt));
  });

  it('sends to several recipients; ?to= finds a recipient in To, Cc or Bcc, in any case', async () => {
    expect(
      (await mailer({ to: ['a@example.net', 'b@example.net'], cc: ['Carol <carol@example.net>'], bcc: ['dave@example.net'], name: 'Team' }))
        .status,
    ).toBe(200);
    expect((await mailer({ to: ['b@example.net'], name: 'B' })).status).toBe(200);

    const all = await mailbox();
    expect(all).toHaveLength(4);
    expect(all[0]).toMatchObject({ to: ['a@example.net', 'b@example.net'], cc: ['Carol <carol@example.net>'], bcc: ['dave@example.net'] });
    expect((await mailbox('B@Example.NET')).map((m) => m.subject)).toEqual([
      'Your receipt',
      'Welcome, Team!',
      'Your receipt',
      'Welcome, B!',
    ]);
    expect((await mailbox('a@example.net')).map((m) => m.subject)).toEqual(['Your receipt', 'Welcome, Team!']);
    expect((await mailbox('carol@example.net')).map((m) => m.subject)).toEqual(['Your receipt', 'Welcome, Team!']);
    expect((await mailbox('"Dave" <DAVE@example.net>')).map((m) => m.messageId)).toEqual(all.slice(0, 2).map((m) => m.messageId));
    expect(await mailbox('nobody@example.net')).toEqual([]);
  });

  it('refuses an unverified sender with MessageRejected, which the function sees as the SDK error', async () => {
    const { status, body } = await mailer({ from: 'someone@example.com', to: ['alice@example.net'], name: 'x' });
    expect(status).toBe(400);
    expect(body).toEqual({
      error: 'MessageRejected',
      status: 400,
      message: 'Email address is not verified. The following identities failed the check in region US-EAST-1: someone@example.com',
    });
    expect(await mailbox()).toEqual([]);
  });

  it('lets any address at a verified domain (and its subdomains) send, display names included', async () => {
    const { status, body } = await mailer({ from: '"Billing" <billing@example.org>', to: ['alice@example.net'], name: 'x' });
    expect(status, JSON.stringify(body)).toBe(200);
    expect((await mailbox()).map((m) => m.from)).toEqual(['"Billing" <billing@example.org>', '"Billing" <billing@example.org>']);
    for (const from of ['ops@mail.example.org', 'Someone <x@EXAMPLE.ORG>', 'noreply@EXAMPLE.com']) {
      const out = await client.send(new SendEmailCommand(simple(from, ['alice@example.net'])));
      expect(out.MessageId).toMatch(MESSAGE_ID);
    }
    // An address identity covers that address only; a domain only itself and its subdomains.
    for (const from of ['other@example.com', 'x@example.org.attacker.net', 'x@notexample.org', '"noreply@example.com" <x@attacker.net>']) {
      const error = await rejection(client.send(new SendEmailCommand(simple(from, ['alice@example.net']))));
      expect(error).toEqual({
        name: 'MessageRejected',
        status: 400,
        message: `Email address is not verified. The following identities failed the check in region US-EAST-1: ${parseAddress(from)}`,
      });
    }
  });

  it('prints exactly one log line per message, with sender, recipients and subject', async () => {
    const before = logLines('SES email').length;
    const { body } = await mailer({ to: ['log@example.net'], cc: ['copy@example.net'], name: 'Log\nLine' });
    const lines = logLines('SES email').slice(before);
    expect(lines).toEqual([
      `SES email ${body.simple} from noreply@example.com to log@example.net cc copy@example.net: "Your receipt"`,
      `SES email ${body.templated} from noreply@example.com to log@example.net cc copy@example.net: "Welcome, Log\\nLine!"`,
    ]);
  });
});

describe('SendEmail and templates through the SDK', () => {
  it('creates, reads, lists, updates and deletes templates, and sends with one by name or ARN', async () => {
    await client.send(
      new CreateEmailTemplateCommand({
        TemplateName: 'Order_Shipped-1',
        TemplateContent: {
          Subject: 'Order {{order.id}} shipped',
          Html: '<ul>{{#each order.lines}}<li>{{qty}} × {{name}}{{#if gift}} (gift){{/if}}</li>{{/each}}</ul>',
          Text: '{{#each order.lines}}{{qty}} x {{name}}{{#unless @last}}; {{/unless}}{{/each}}',
        },
      }),
    );
    const got = await client.send(new GetEmailTemplateCommand({ TemplateName: 'Order_Shipped-1' }));
    expect(got.TemplateContent?.Subject).toBe('Order {{order.id}} shipped');
    const listed = await client.send(new ListEmailTemplatesCommand({ PageSize: 100 }));
    expect(listed.TemplatesMetadata?.map((t) => t.TemplateName).sort()).toEqual([templateName, 'Order_Shipped-1'].sort());
    expect(listed.TemplatesMetadata?.[0]?.CreatedTimestamp).toBeInstanceOf(Date);

    const data = JSON.stringify({
      order: {
        id: 'A-1',
        lines: [
          { qty: 2, name: 'mugs <3', gift: true },
          { qty: 1, name: 'tea' },
        ],
      },
    });
    const byName = await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@example.com',
        Destination: { ToAddresses: ['bob@example.net'] },
        Content: { Template: { TemplateName: 'Order_Shipped-1', TemplateData: data } },
      }),
    );
    await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@example.com',
        Destination: { ToAddresses: ['bob@example.net'] },
        Content: { Template: { TemplateArn: 'arn:aws:ses:us-east-1:000000000000:template/Order_Shipped-1', TemplateData: data } },
      }),
    );
    const [first, second] = await mailbox('bob@example.net');
    // SES does not HTML-escape template values.
    expect(first).toMatchObject({
      messageId: byName.MessageId,
      subject: 'Order A-1 shipped',
      html: '<ul><li>2 × mugs <3 (gift)</li><li>1 × tea</li></ul>',
      text: '2 x mugs <3; 1 x tea',
      template: { name: 'Order_Shipped-1', data: JSON.parse(data) },
    });
    expect(second!.subject).toBe('Order A-1 shipped');

    await client.send(
      new UpdateEmailTemplateCommand({ TemplateName: 'Order_Shipped-1', TemplateContent: { Subject: 'v2 {{order.id}}', Text: 'x' } }),
    );
    expect((await client.send(new GetEmailTemplateCommand({ TemplateName: 'Order_Shipped-1' }))).TemplateContent).toEqual({
      Subject: 'v2 {{order.id}}',
      Text: 'x',
    });
    expect(
      await rejection(client.send(new CreateEmailTemplateCommand({ TemplateName: 'Order_Shipped-1', TemplateContent: { Text: 'x' } }))),
    ).toMatchObject({
      name: 'AlreadyExistsException',
      status: 400,
    });
    await client.send(new DeleteEmailTemplateCommand({ TemplateName: 'Order_Shipped-1' }));
    expect(await rejection(client.send(new GetEmailTemplateCommand({ TemplateName: 'Order_Shipped-1' })))).toEqual({
      name: 'NotFoundException',
      status: 404,
      message: 'Template Order_Shipped-1 does not exist.',
    });
  });

  it('renders inline TemplateContent, and keeps no template name for it', async () => {
    await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@example.com',
        Destination: { ToAddresses: ['inline@example.net'] },
        Content: { Template: { TemplateContent: { Subject: 'Hi {{who}}', Text: 'Body for {{who}}' }, TemplateData: '{"who":"you"}' } },
      }),
    );
    expect(await mailbox('inline@example.net')).toMatchObject([
      { subject: 'Hi you', text: 'Body for you', html: null, template: { data: { who: 'you' } } },
    ]);
    expect((await mailbox('inline@example.net'))[0]!.template).not.toHaveProperty('name');
  });

  it('answers NotFoundException for an unknown template', async () => {
    const error = await rejection(
      client.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@example.com',
          Destination: { ToAddresses: ['x@example.net'] },
          Content: { Template: { TemplateName: 'Nope', TemplateData: '{}' } },
        }),
      ),
    );
    expect(error).toEqual({ name: 'NotFoundException', status: 404, message: 'Template Nope does not exist.' });
  });

  it('accepts a message whose data misses a template variable and does not deliver it, as SES does; the log says why', async () => {
    const out = await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@example.com',
        Destination: { ToAddresses: ['render@example.net'] },
        Content: { Template: { TemplateName: templateName, TemplateData: '{"items":[]}' } },
      }),
    );
    expect(out.MessageId).toMatch(MESSAGE_ID);
    expect(await mailbox('render@example.net')).toEqual([]);
    expect(logLines('SES rendering failure').at(-1)).toBe(
      `SES rendering failure, not delivered: ${out.MessageId} from noreply@example.com to render@example.net, template ${templateName}: Attribute 'name' is not present in the rendering data.`,
    );
  });

  it('refuses what the local cloud does not do, by name: Raw content, unsupported Handlebars', async () => {
    const raw = await rejection(
      client.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@example.com',
          Destination: { ToAddresses: ['x@example.net'] },
          Content: { Raw: { Data: Buffer.from('Subject: hi\r\n\r\nbody') } },
        }),
      ),
    );
    expect(raw).toEqual({
      name: 'BadRequestException',
      status: 400,
      message:
        'Content.Raw is not supported by the local cloud (it does not parse MIME messages): send with Content.Simple or Content.Template.',
    });
    const helper = await rejection(
      client.send(new CreateEmailTemplateCommand({ TemplateName: 'Helpers', TemplateContent: { Text: '{{lookup a b}}' } })),
    );
    expect(helper).toMatchObject({
      name: 'BadRequestException',
      status: 400,
      message: expect.stringMatching(/helper calls are not supported/),
    });
  });

  it('refuses bad recipients and too many of them with BadRequestException', async () => {
    expect(await rejection(client.send(new SendEmailCommand(simple('noreply@example.com', ['not an address']))))).toEqual({
      name: 'BadRequestException',
      status: 400,
      message: 'Illegal address in Destination.ToAddresses[0]: "not an address".',
    });
    const many = Array.from({ length: 51 }, (_, i) => `r${i}@example.net`);
    expect(await rejection(client.send(new SendEmailCommand(simple('noreply@example.com', many))))).toEqual({
      name: 'BadRequestException',
      status: 400,
      message: 'Recipient count exceeds 50.',
    });
    expect(await rejection(client.send(new SendEmailCommand(simple('noreply@example.com', []))))).toMatchObject({
      name: 'BadRequestException',
      status: 400,
    });
  });
});

describe('malformed requests', () => {
  const post = (body: string) =>
    fetch(`${controlUrl}/v2/email/outbound-emails`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it.each([
    ['not JSON', '{"Content":', 'The request body is not valid JSON.'],
    ['an array', '[]', 'The request body must be a JSON object.'],
    ['no content', '{}', 'Content is required: an object with one of Simple, Template or Raw.'],
    ['content of the wrong type', '{"Content":5}', 'Content is required: an object with one of Simple, Template or Raw.'],
    [
      'two kinds of content',
      '{"Content":{"Simple":{},"Template":{}}}',
      'Content must have exactly one of Simple, Template or Raw, got Simple and Template.',
    ],
    ['no sender', '{"Content":{"Simple":{}}}', 'FromEmailAddress is required with Content.Simple and Content.Template.'],
    ['a sender that is no address', '{"FromEmailAddress":"<>","Content":{"Simple":{}}}', 'Illegal address in FromEmailAddress: "<>".'],
    [
      'recipients that are not a list',
      '{"FromEmailAddress":"noreply@example.com","Destination":{"ToAddresses":"a@b.c"},"Content":{"Simple":{}}}',
      'Destination.ToAddresses must be a list of email addresses.',
    ],
    [
      'a subject without Data',
      '{"FromEmailAddress":"noreply@example.com","Destination":{"ToAddresses":["a@example.net"]},"Content":{"Simple":{"Subject":"hi","Body":{}}}}',
      'Content.Simple.Subject must be an object with Data (a string).',
    ],
    [
      'an empty body',
      '{"FromEmailAddress":"noreply@example.com","Destination":{"ToAddresses":["a@example.net"]},"Content":{"Simple":{"Subject":{"Data":"hi"},"Body":{}}}}',
      'Content.Simple.Body needs Text, Html or both.',
    ],
    [
      'template data that is not JSON',
      '{"FromEmailAddress":"noreply@example.com","Destination":{"ToAddresses":["a@example.net"]},"Content":{"Template":{"TemplateContent":{"Text":"x"},"TemplateData":"{"}}}',
      'Content.Template.TemplateData is not valid JSON.',
    ],
    [
      'template data that is not an object',
      '{"FromEmailAddress":"noreply@example.com","Destination":{"ToAddresses":["a@example.net"]},"Content":{"Template":{"TemplateContent":{"Text":"x"},"TemplateData":"[1]"}}}',
      'Content.Template.TemplateData must be a JSON object.',
    ],
    [
      'an inline template that does not parse',
      '{"FromEmailAddress":"noreply@example.com","Destination":{"ToAddresses":["a@example.net"]},"Content":{"Template":{"TemplateContent":{"Text":"{{#if a}}x"}}}}',
      'Content.Template.TemplateContent: {{#if}} is never closed with {{/if}}',
    ],
  ])('answers 400 BadRequestException for %s', async (_what, body, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    expect(((await res.json()) as { message: string }).message).toBe(message);
  });

  it('answers a path that does not decode with 400, an SES operation it does not emulate with 501', async () => {
    const bad = await fetch(`${controlUrl}/v2/email/templates/%ZZ`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    const other = await fetch(`${controlUrl}/v2/email/account`);
    expect(other.status).toBe(501);
    expect(((await other.json()) as { message: string }).message).toMatch(/does not emulate SES v2 GET \/v2\/email\/account/);
  });

  it('answers ?to= that is not an address with 400, and DELETE /ses/messages with the count it cleared', async () => {
    const res = await fetch(`${controlUrl}/ses/messages?to=nobody`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: '"to" must be an email address, got "nobody"' });
    await client.send(new SendEmailCommand(simple('noreply@example.com', ['x@example.net'])));
    const cleared = await fetch(`${controlUrl}/ses/messages`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ deleted: 1 });
    expect(await mailbox()).toEqual([]);
  });
});

describe('the mailbox', () => {
  it('keeps the most recent messages up to its capacity, oldest first', () => {
    const box = new Mailbox(3);
    const email = (n: number): StoredEmail => ({
      messageId: String(n),
      from: 'a@example.com',
      to: [`r${n % 2}@example.net`],
      cc: [],
      bcc: [],
      replyTo: [],
      subject: `s${n}`,
      text: 't',
      html: null,
      sentAt: new Date(n).toISOString(),
    });
    for (let n = 1; n <= 5; n++) box.add(email(n));
    expect(box.list().map((m) => m.messageId)).toEqual(['3', '4', '5']);
    expect(box.list('R1@example.net').map((m) => m.messageId)).toEqual(['3', '5']);
    expect(box.clear()).toBe(3);
    expect(box.list()).toEqual([]);
  });
});

describe('addresses and identities', () => {
  it('parses the forms SendEmail takes', () => {
    expect(parseAddress('a@example.com')).toBe('a@example.com');
    expect(parseAddress('"Doe, Jane" <jane.doe+tag@mail.example.com>')).toBe('jane.doe+tag@mail.example.com');
    expect(parseAddress('Jane Doe <jane@example.com>')).toBe('jane@example.com');
    expect(parseAddress('=?utf-8?B?SsOkbmU=?= <jane@example.com>')).toBe('jane@example.com');
    expect(parseAddress(' <jane@example.com> ')).toBe('jane@example.com');
    for (const bad of [
      '',
      'jane',
      '@example.com',
      'jane@',
      'jane@localhost',
      'a b@example.com',
      'jane@exa mple.com',
      '<a@example.com',
      'x <a@b.com> y',
      'a..b@example.com',
      'jane@-example.com',
    ])
      expect(parseAddress(bad), bad).toBeUndefined();
  });

  it('covers an address exactly (domain in any case) and a domain with its subdomains', () => {
    const ids = new VerifiedIdentities();
    ids.add('noreply@Example.com');
    ids.add('Example.org');
    expect(ids.covers('noreply@example.COM')).toBe(true);
    expect(ids.covers('NoReply@example.com')).toBe(false);
    expect(ids.covers('anyone@example.org')).toBe(true);
    expect(ids.covers('anyone@deep.sub.example.org')).toBe(true);
    expect(ids.covers('anyone@badexample.org')).toBe(false);
    expect(ids.covers('anyone@example.com')).toBe(false);
  });
});

describe('the template renderer', () => {
  const render = (source: string, data: unknown) => compileTemplate(source).render(data);

  it('renders the Handlebars SES documents: nested paths, each, if/else, unless, with, inline partials', () => {
    const data = {
      contact: { firstName: 'Anaya', city: 'Bengaluru' },
      subscription: [{ interest: 'Sports' }, { interest: 'Travel' }],
      member: true,
      tags: { a: 1, b: 2 },
    };
    expect(render('Hello {{contact.firstName}} from {{contact.city}}!', data)).toBe('Hello Anaya from Bengaluru!');
    expect(
      render('Interests:\n{{#each subscription}}\n  - {{interest}} ({{@index}}{{#if @first}}, first{{/if}})\n{{/each}}\nBye', data),
    ).toBe('Interests:\n  - Sports (0, first)\n  - Travel (1)\nBye');
    expect(render('{{#if vip}}VIP{{else if member}}member {{contact.firstName}}{{else}}guest{{/if}}', data)).toBe('member Anaya');
    expect(render('{{#unless vip}}not vip{{/unless}}', data)).toBe('not vip');
    expect(render('{{#each tags}}{{@key}}={{this}}{{#unless @last}}&{{/unless}}{{/each}}', data)).toBe('a=1&b=2');
    expect(render('{{#each none}}x{{else}}empty{{/each}}', data)).toBe('empty');
    expect(render('{{#with contact}}{{firstName}} in {{city}}, {{../member}}{{/with}}', data)).toBe('Anaya in Bengaluru, true');
    expect(render('{{#* inline "who"}}{{firstName}}{{/inline}}Hi {{> who contact}}!', data)).toBe('Hi Anaya!');
    expect(render('{{!-- note --}}a {{~ contact.city ~}} b {{! short }}', data)).toBe('aBengalurub ');
    expect(render('\\{{literal}} {{{contact.firstName}}} {{&contact.city}}', data)).toBe('{{literal}} Anaya Bengaluru');
    expect(render('{{subscription.length}} {{nothing}}', { subscription: [1, 2], nothing: null })).toBe('2 ');
  });

  it('does not HTML-escape values, as SES does not', () => {
    expect(render('<p>{{v}}</p>', { v: '<b>"&"</b>' })).toBe('<p><b>"&"</b></p>');
  });

  it('fails rendering on a printed value the data lacks, not on a condition or a loop', () => {
    expect(() => render('Hi {{contact.lastName}}', { contact: {} })).toThrow(
      new RenderingFailure("Attribute 'contact.lastName' is not present in the rendering data."),
    );
    expect(() => render('{{constructor}}', {})).toThrow(RenderingFailure);
    expect(render('{{#if missing}}x{{/if}}{{#each missing}}y{{/each}}ok', {})).toBe('ok');
  });

  it('refuses, by name, what it does not render', () => {
    for (const [source, message] of [
      ['{{lookup a b}}', /helper calls are not supported/],
      ['{{#custom a}}x{{/custom}}', /block helper \{\{#custom\}\} is not supported/],
      ['{{#if a b=1}}x{{/if}}', /takes one path/],
      ['{{#> layout}}x{{/layout}}', /partial blocks/],
      ['{{{{raw}}}}x{{{{/raw}}}}', /raw blocks/],
      ['{{"literal"}}', /literals are not supported/],
      ['{{@foo}}', /only @index, @key, @first, @last and @root/],
      ['{{#if a}}x{{/each}}', /\{\{#if\}\} is closed by \{\{\/each\}\}/],
      ['{{#each a}}x', /never closed/],
      ['x{{/if}}', /without an open block/],
      ['{{name', /unclosed tag/],
    ] as const) {
      expect(() => compileTemplate(source), source).toThrow(TemplateSyntaxError);
      expect(() => compileTemplate(source), source).toThrow(message);
    }
  });
});
