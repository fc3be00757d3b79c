/**
 * Amazon SES v2 in the local cloud: the REST-JSON API of `@aws-sdk/client-sesv2` for SendEmail and
 * the email templates, on the control port (functions reach it through `AWS_ENDPOINT_URL_SESV2`,
 * the SDK's service id "SESv2" upper-cased). Mail is kept, never sent: each accepted message goes
 * to the mailbox (`GET /ses/messages` on the control API) and is printed as one line on the local
 * cloud's log.
 *
 * SendEmail takes `Content.Simple` (Subject, Body Text/Html, Charset) and `Content.Template` (a
 * stored template by TemplateName or TemplateArn, or inline TemplateContent, with TemplateData);
 * `Content.Raw` is refused with a clear error (no MIME parser here). FromEmailAddress (and the
 * Return-Path, FeedbackForwardingEmailAddress) must be covered by a verified identity of the
 * templates (`identities.ts`), or the call fails as in AWS. Destination To/Cc/Bcc and
 * ReplyToAddresses are kept; ConfigurationSetName, EmailTags, ListManagementOptions, headers and
 * attachments are accepted and ignored.
 *
 * Templates come from the templates (`AWS::SES::Template`) and from CreateEmailTemplate (Get,
 * Update, Delete, List too); they render as SES renders them (`template.ts`). A message whose data
 * does not fit its template is accepted and not delivered, as SES does, and the log says why.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, decodePathSegment, type RequestContext, type RestRequest, type RestResponse, type RestService } from '../aws-protocol';
import type { ServiceContext } from '../context';
import { parseAddress, VerifiedIdentities } from './identities';
import { DEFAULT_CAPACITY, Mailbox, type StoredEmail } from './mailbox';
import { type CompiledTemplate, compileTemplate, RenderingFailure, TemplateSyntaxError } from './template';

export interface SesServiceOptions {
  /** Messages kept in the mailbox, the oldest dropped first. @default 10000 */
  readonly mailboxCapacity?: number;
}

/** EmailTemplateContent, as CreateEmailTemplate and inline templates give it. */
interface TemplateContent {
  readonly Subject?: string;
  readonly Text?: string;
  readonly Html?: string;
}

interface StoredTemplate {
  readonly name: string;
  readonly content: TemplateContent;
  readonly createdAt: number;
  /** Compiled parts, or why the local renderer cannot render them. */
  readonly compiled: CompiledParts | TemplateSyntaxError;
}

interface CompiledParts {
  readonly subject?: CompiledTemplate;
  readonly text?: CompiledTemplate;
  readonly html?: CompiledTemplate;
}

/** SES sends to at most 50 recipients per message (To, Cc and Bcc together). */
const MAX_RECIPIENTS = 50;
/** SES's template naming rule: letters, digits, underscores and dashes, up to 64. */
const TEMPLATE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** TemplateData's documented maximum length. */
const MAX_TEMPLATE_DATA = 262_144;

const badRequest = (message: string) => new AwsError('BadRequestException', message, 400);
const notFound = (message: string) => new AwsError('NotFoundException', message, 404);

export class SesService {
  readonly restService: RestService;
  readonly mailbox: Mailbox;
  readonly identities = new VerifiedIdentities();
  private readonly templates = new Map<string, StoredTemplate>();

  constructor(
    private readonly context: ServiceContext,
    options: SesServiceOptions = {},
  ) {
    this.mailbox = new Mailbox(options.mailboxCapacity ?? DEFAULT_CAPACITY);
    this.restService = {
      name: 'SES v2',
      matches: (_method, path) => path === '/v2/email' || path.startsWith('/v2/email/'),
      handle: (request, requestContext) => this.handle(request, requestContext),
    };
    this.loadFromTemplates();
  }

  stop(): void {}

  // ----------------------------------------------------------------------------------------------
  // From the templates

  /** Verified identities and email templates of the CloudFormation templates. */
  private loadFromTemplates(): void {
    const { model } = this.context;
    for (const resource of model.ofType('AWS::SES::EmailIdentity')) {
      const identity = model.properties(resource).EmailIdentity;
      if (typeof identity !== 'string' || identity.length === 0) {
        model.diagnostics.error(resource.where, 'AWS::SES::EmailIdentity needs an EmailIdentity (an address or a domain)');
        continue;
      }
      if (identity !== resource.ref)
        model.diagnostics.unsupported(
          resource.where,
          'EmailIdentity is computed: Ref to this identity resolves to a generated name locally',
        );
      this.identities.add(identity);
    }
    for (const resource of model.ofType('AWS::SES::Template')) {
      const template = (model.properties(resource).Template ?? {}) as Record<string, unknown>;
      const content: TemplateContent = {
        ...(typeof template.SubjectPart === 'string' ? { Subject: template.SubjectPart } : {}),
        ...(typeof template.TextPart === 'string' ? { Text: template.TextPart } : {}),
        ...(typeof template.HtmlPart === 'string' ? { Html: template.HtmlPart } : {}),
      };
      const name = typeof template.TemplateName === 'string' ? template.TemplateName : resource.ref;
      if (name !== resource.ref)
        model.diagnostics.unsupported(
          resource.where,
          'TemplateName is computed: Ref to this template resolves to a generated name locally',
        );
      const stored = this.storeTemplate(name, content);
      if (stored.compiled instanceof TemplateSyntaxError)
        model.diagnostics.unsupported(resource.where, `SES template ${name}: ${stored.compiled.message}; sending with it fails`);
    }
  }

  private storeTemplate(name: string, content: TemplateContent, compiled = compileParts(content)): StoredTemplate {
    const stored = { name, content, createdAt: this.context.clock.now(), compiled };
    this.templates.set(name, stored);
    return stored;
  }

  // ----------------------------------------------------------------------------------------------
  // REST API

  private handle(request: RestRequest, requestContext: RequestContext): RestResponse {
    const { method, path } = request;
    if (path === '/v2/email/outbound-emails' && method === 'POST') return ok(this.sendEmail(parseBody(request.body), requestContext));
    if (path === '/v2/email/templates') {
      if (method === 'POST') return ok(this.createTemplate(parseBody(request.body)));
      if (method === 'GET') return ok(this.listTemplates(request.query));
    }
    const m = /^\/v2\/email\/templates\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodePathSegment(m[1]!, 'BadRequestException');
      switch (method) {
        case 'GET': {
          const template = this.template(name);
          return ok({ TemplateName: template.name, TemplateContent: template.content });
        }
        case 'PUT': {
          this.template(name);
          this.saveTemplate(name, templateContent(parseBody(request.body).TemplateContent));
          return ok({});
        }
        case 'DELETE':
          this.template(name);
          this.templates.delete(name);
          return ok({});
      }
    }
    throw new AwsError(
      'NotImplemented',
      `The local cloud does not emulate SES v2 ${method} ${path} (it emulates SendEmail, CreateEmailTemplate, GetEmailTemplate, UpdateEmailTemplate, DeleteEmailTemplate and ListEmailTemplates).`,
      501,
    );
  }

  private createTemplate(body: Record<string, unknown>): Record<string, never> {
    const name = body.TemplateName;
    if (typeof name !== 'string' || !TEMPLATE_NAME.test(name))
      throw badRequest(`TemplateName must be 1 to 64 letters, digits, underscores or dashes, got ${JSON.stringify(name)}.`);
    const content = templateContent(body.TemplateContent);
    if (this.templates.has(name)) throw new AwsError('AlreadyExistsException', `Template ${name} already exists.`, 400);
    this.saveTemplate(name, content);
    return {};
  }

  /** CreateEmailTemplate and UpdateEmailTemplate: a template the renderer cannot render is refused. */
  private saveTemplate(name: string, content: TemplateContent): void {
    const compiled = compileParts(content);
    if (compiled instanceof TemplateSyntaxError) throw badRequest(`TemplateContent: ${compiled.message}`);
    this.storeTemplate(name, content, compiled);
  }

  private listTemplates(query: URLSearchParams) {
    const sizeText = query.get('PageSize');
    const size = sizeText === null ? 10 : Number(sizeText);
    if (!Number.isInteger(size) || size < 1 || size > 100)
      throw badRequest(`PageSize must be an integer from 1 to 100, got ${JSON.stringify(sizeText)}.`);
    const names = [...this.templates.keys()].sort();
    const token = query.get('NextToken');
    const start = token ? names.findIndex((n) => n > Buffer.from(token, 'base64url').toString('utf8')) : 0;
    const page = start < 0 ? [] : names.slice(start, start + size);
    const more = start >= 0 && start + size < names.length;
    return {
      TemplatesMetadata: page.map((n) => ({ TemplateName: n, CreatedTimestamp: this.templates.get(n)!.createdAt / 1000 })),
      ...(more ? { NextToken: Buffer.from(page[page.length - 1]!).toString('base64url') } : {}),
    };
  }

  private template(name: string): StoredTemplate {
    const template = this.templates.get(name);
    if (!template) throw notFound(`Template ${name} does not exist.`);
    return template;
  }

  // ----------------------------------------------------------------------------------------------
  // SendEmail

  private sendEmail(body: Record<string, unknown>, requestContext: RequestContext): { MessageId: string } {
    const content = body.Content;
    if (!isObject(content)) throw badRequest('Content is required: an object with one of Simple, Template or Raw.');
    const kinds = (['Simple', 'Template', 'Raw'] as const).filter((k) => content[k] !== undefined && content[k] !== null);
    if (kinds.length !== 1)
      throw badRequest(
        `Content must have exactly one of Simple, Template or Raw, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}.`,
      );
    if (kinds[0] === 'Raw')
      throw badRequest(
        'Content.Raw is not supported by the local cloud (it does not parse MIME messages): send with Content.Simple or Content.Template.',
      );

    const from = body.FromEmailAddress;
    if (typeof from !== 'string' || from.trim() === '')
      throw badRequest('FromEmailAddress is required with Content.Simple and Content.Template.');
    const fromAddress = parseAddress(from);
    if (!fromAddress) throw badRequest(`Illegal address in FromEmailAddress: ${JSON.stringify(from)}.`);
    const destination = body.Destination ?? {};
    if (!isObject(destination)) throw badRequest('Destination must be an object with ToAddresses, CcAddresses and BccAddresses.');
    const to = addressList(destination.ToAddresses, 'Destination.ToAddresses');
    const cc = addressList(destination.CcAddresses, 'Destination.CcAddresses');
    const bcc = addressList(destination.BccAddresses, 'Destination.BccAddresses');
    const recipients = to.length + cc.length + bcc.length;
    if (recipients === 0) throw badRequest('Destination must have at least one address in ToAddresses, CcAddresses or BccAddresses.');
    if (recipients > MAX_RECIPIENTS) throw badRequest(`Recipient count exceeds ${MAX_RECIPIENTS}.`);
    const replyTo = addressList(body.ReplyToAddresses, 'ReplyToAddresses');
    const senders = [fromAddress];
    if (body.FeedbackForwardingEmailAddress !== undefined && body.FeedbackForwardingEmailAddress !== null) {
      const feedback =
        typeof body.FeedbackForwardingEmailAddress === 'string' ? parseAddress(body.FeedbackForwardingEmailAddress) : undefined;
      if (!feedback)
        throw badRequest(`Illegal address in FeedbackForwardingEmailAddress: ${JSON.stringify(body.FeedbackForwardingEmailAddress)}.`);
      senders.push(feedback);
    }
    const unverified = [...new Set(senders.filter((address) => !this.identities.covers(address)))];
    if (unverified.length > 0) {
      // The wording and the upper-case region are AWS's: "Email address is not verified. The
      // following identities failed the check in region region: identity1, identity2"
      // (docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html), as SES answers it,
      // e.g. "... in region US-WEST-2: foo@bar.com" (github.com/ks888/LambStatus/issues/97,
      // github.com/django-ses/django-ses/issues/120).
      throw new AwsError(
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${requestContext.region.toUpperCase()}: ${unverified.join(', ')}`,
        400,
      );
    }

    const messageId = this.messageId();
    const envelope = { messageId, from, to, cc, bcc, replyTo };
    const sentAt = this.context.clock.date().toISOString();
    if (kinds[0] === 'Simple') {
      this.deliver({ ...envelope, ...simpleContent(content.Simple), sentAt });
      return { MessageId: messageId };
    }

    const { name, parts, data } = this.resolveTemplate(content.Template);
    let rendered: { subject: string; text: string | null; html: string | null };
    try {
      rendered = {
        subject: parts.subject?.render(data) ?? '',
        text: parts.text?.render(data) ?? null,
        html: parts.html?.render(data) ?? null,
      };
    } catch (error) {
      if (!(error instanceof RenderingFailure)) throw error;
      // Accepted and not delivered, as SES does with a Rendering Failure event.
      this.context.log(
        `SES rendering failure, not delivered: ${messageId} from ${from} to ${[...to, ...cc, ...bcc].join(', ')}, template ${name ?? '(inline)'}: ${error.message}`,
      );
      return { MessageId: messageId };
    }
    this.deliver({ ...envelope, ...rendered, template: { ...(name ? { name } : {}), data }, sentAt });
    return { MessageId: messageId };
  }

  private resolveTemplate(value: unknown): { name?: string; parts: CompiledParts; data: unknown } {
    if (!isObject(value)) throw badRequest('Content.Template must be an object.');
    const data = templateData(value.TemplateData);
    const byName = value.TemplateName ?? value.TemplateArn;
    if (value.TemplateContent !== undefined && value.TemplateContent !== null) {
      if (byName !== undefined && byName !== null)
        throw badRequest('Content.Template takes either TemplateContent or TemplateName/TemplateArn, not both.');
      const compiled = compileParts(templateContent(value.TemplateContent, 'Content.Template.TemplateContent'));
      if (compiled instanceof TemplateSyntaxError) throw badRequest(`Content.Template.TemplateContent: ${compiled.message}`);
      return { parts: compiled, data };
    }
    let name: string;
    if (typeof value.TemplateName === 'string') name = value.TemplateName;
    else if (typeof value.TemplateArn === 'string') name = value.TemplateArn.replace(/^arn:aws[a-z-]*:ses:[^:]*:[^:]*:template\//, '');
    else throw badRequest('Content.Template needs TemplateName, TemplateArn or TemplateContent.');
    const template = this.template(name);
    if (template.compiled instanceof TemplateSyntaxError) throw badRequest(`Template ${name}: ${template.compiled.message}`);
    return { name, parts: template.compiled, data };
  }

  private deliver(email: StoredEmail): void {
    this.mailbox.add(email);
    const copies = [email.cc.length ? ` cc ${email.cc.join(', ')}` : '', email.bcc.length ? ` bcc ${email.bcc.join(', ')}` : ''].join('');
    const to = email.to.length ? email.to.join(', ') : '(no To)';
    // One line per message, whatever the subject holds (JSON-quoted).
    this.context.log(`SES email ${email.messageId} from ${email.from} to ${to}${copies}: ${JSON.stringify(email.subject)}`);
  }

  /** SES's shape: 16 hex digits (a prefix and the time), a UUID, `-000000`. */
  private messageId(): string {
    const time = Math.max(0, Math.floor(this.context.clock.now())).toString(16).padStart(12, '0').slice(-12);
    return `0100${time}-${randomUUID()}-000000`;
  }
}

// ------------------------------------------------------------------------------------------------
// Input

function compileParts(content: TemplateContent): CompiledParts | TemplateSyntaxError {
  try {
    return {
      ...(content.Subject !== undefined ? { subject: compileTemplate(content.Subject) } : {}),
      ...(content.Text !== undefined ? { text: compileTemplate(content.Text) } : {}),
      ...(content.Html !== undefined ? { html: compileTemplate(content.Html) } : {}),
    };
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return error;
    throw error;
  }
}

function templateContent(value: unknown, field = 'TemplateContent'): TemplateContent {
  if (!isObject(value)) throw badRequest(`${field} is required: an object with Subject, Text and Html.`);
  for (const key of ['Subject', 'Text', 'Html'] as const) {
    if (value[key] !== undefined && value[key] !== null && typeof value[key] !== 'string')
      throw badRequest(`${field}.${key} must be a string.`);
  }
  if (typeof value.Text !== 'string' && typeof value.Html !== 'string') throw badRequest(`${field} needs Text or Html.`);
  return {
    ...(typeof value.Subject === 'string' ? { Subject: value.Subject } : {}),
    ...(typeof value.Text === 'string' ? { Text: value.Text } : {}),
    ...(typeof value.Html === 'string' ? { Html: value.Html } : {}),
  };
}

function templateData(value: unknown): unknown {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw badRequest('Content.Template.TemplateData must be a string holding a JSON object.');
  if (value.length > MAX_TEMPLATE_DATA) throw badRequest(`Content.Template.TemplateData is longer than ${MAX_TEMPLATE_DATA} characters.`);
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    throw badRequest('Content.Template.TemplateData is not valid JSON.');
  }
  if (!isObject(data)) throw badRequest('Content.Template.TemplateData must be a JSON object.');
  return data;
}

function simpleContent(value: unknown): { subject: string; text: string | null; html: string | null } {
  if (!isObject(value)) throw badRequest('Content.Simple must be an object with Subject and Body.');
  const subject = contentData(value.Subject, 'Content.Simple.Subject');
  const body = value.Body;
  if (!isObject(body)) throw badRequest('Content.Simple.Body is required: an object with Text, Html or both.');
  const text = body.Text === undefined || body.Text === null ? null : contentData(body.Text, 'Content.Simple.Body.Text');
  const html = body.Html === undefined || body.Html === null ? null : contentData(body.Html, 'Content.Simple.Body.Html');
  if (text === null && html === null) throw badRequest('Content.Simple.Body needs Text, Html or both.');
  return { subject, text, html };
}

/** A `Content` structure: `Data` (required) and `Charset` (any name; the data is already text here). */
function contentData(value: unknown, field: string): string {
  if (!isObject(value) || typeof value.Data !== 'string') throw badRequest(`${field} must be an object with Data (a string).`);
  if (value.Charset !== undefined && value.Charset !== null && typeof value.Charset !== 'string')
    throw badRequest(`${field}.Charset must be a string.`);
  return value.Data;
}

function addressList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`${field} must be a list of email addresses.`);
  return value.map((item, i) => {
    if (typeof item !== 'string' || !parseAddress(item)) throw badRequest(`Illegal address in ${field}[${i}]: ${JSON.stringify(item)}.`);
    return item;
  });
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (!isObject(parsed)) throw badRequest('The request body must be a JSON object.');
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function ok(body: unknown): RestResponse {
  return { status: 200, body };
}
