/**
 * The local Amazon SQS: queues from the templates (`AWS::SQS::Queue`) and from the API, served to
 * the real `@aws-sdk/client-sqs` over the JSON protocol (`X-Amz-Target: AmazonSQS.<Operation>`,
 * `application/x-amz-json-1.0`) on the control port, and to the other local services by ARN
 * (`targets.register('arn:aws:sqs:')`: rules, schedules, state machines, on-failure destinations).
 *
 * Queue URLs: GetQueueUrl and CreateQueue answer `{endpoint}/{account}/{name}` (the local endpoint);
 * every operation also accepts the AWS form the templates resolve to
 * (`https://sqs.{region}.amazonaws.com/{account}/{name}`, also the legacy `queue.amazonaws.com`
 * hosts): only the last two path segments matter.
 *
 * Long polling (`WaitTimeSeconds`) waits in virtual time and returns as soon as a message can be
 * received; it never waits longer in real time than the requested seconds either, so a frozen
 * clock (factor 0) does not hold a poll forever.
 */
import type { JsonService } from '../aws-protocol';
import type { ServiceContext } from '../context';
import type { ModelResource } from '../model';
import { defaultAttributes, READABLE_ATTRIBUTES, validateQueueAttributes } from './attributes';
import { sqsError, sqsErrorType } from './errors';
import { md5OfAttributes } from './md5';
import {
  attributesToApi,
  MAX_BATCH_PAYLOAD_BYTES,
  MAX_DELAY_SECONDS,
  messageSize,
  selectAttributes,
  validateAttributes,
  validateBody,
  validateGroupOrDeduplicationId,
  type AttributeInput,
} from './messages';
import { Queue, type ReceivedMessage, type StoredMessage } from './queue';

export interface SqsServiceOptions {
  /** Base URL of the local SQS endpoint (the control URL), used in the queue URLs it hands out. */
  readonly endpoint?: string;
}

/** Options of `SqsService.send` (what other services put on a message). */
export interface SendOptions {
  readonly messageAttributes?: Record<string, AttributeInput>;
  readonly messageSystemAttributes?: Record<string, AttributeInput>;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  readonly delaySeconds?: number;
}

/** SendMessage's answer. */
export interface SendMessageOutput {
  readonly MessageId: string;
  readonly MD5OfMessageBody: string;
  readonly MD5OfMessageAttributes?: string;
  readonly MD5OfMessageSystemAttributes?: string;
  readonly SequenceNumber?: string;
}

/** Queue names: 1-80 of alphanumerics, hyphens, underscores; FIFO names end in `.fifo` (included). */
const STANDARD_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** SQS refuses to recreate a deleted queue's name, and to purge a queue again, within 60 seconds. */
const RECREATE_DELAY_MS = 60_000;
const PURGE_INTERVAL_MS = 60_000;

/** Template properties that map to queue attributes of the same name. */
const TEMPLATE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
];
const NO_LOCAL_EFFECT: Record<string, string> = {
  KmsMasterKeyId: 'encryption at rest has no local effect',
  KmsDataKeyReusePeriodSeconds: 'encryption at rest has no local effect',
  SqsManagedSseEnabled: 'encryption at rest has no local effect',
  RedriveAllowPolicy: 'which queues may use a dead-letter queue is not enforced locally',
};

interface Waiter {
  readonly queue: Queue;
  cancel(): void;
}

export class SqsService {
  readonly jsonService: JsonService;
  private readonly queues = new Map<string, Queue>();
  private readonly deletedAt = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private endpoint?: string;
  private started = false;
  private stopped = false;

  constructor(
    private readonly context: ServiceContext,
    options: SqsServiceOptions = {},
  ) {
    this.endpoint = options.endpoint?.replace(/\/$/, '');
    this.jsonService = {
      targetPrefix: 'AmazonSQS',
      contentType: 'application/x-amz-json-1.0',
      errorType: sqsErrorType,
      operations: {
        CreateQueue: (input) => this.createQueue(input),
        GetQueueUrl: (input) => this.getQueueUrl(input),
        ListQueues: (input) => this.listQueues(input),
        DeleteQueue: (input) => this.deleteQueue(input),
        GetQueueAttributes: (input) => this.getQueueAttributes(input),
        SetQueueAttributes: (input) => this.setQueueAttributes(input),
        PurgeQueue: (input) => this.purgeQueue(input),
        SendMessage: (input) => this.sendMessage(input),
        SendMessageBatch: (input) => this.sendMessageBatch(input),
        ReceiveMessage: (input) => this.receiveMessage(input),
        DeleteMessage: (input) => this.deleteMessage(input),
        DeleteMessageBatch: (input) => this.deleteMessageBatch(input),
        ChangeMessageVisibility: (input) => this.changeMessageVisibility(input),
        ChangeMessageVisibilityBatch: (input) => this.changeMessageVisibilityBatch(input),
        ListDeadLetterSourceQueues: (input) => this.listDeadLetterSourceQueues(input),
        TagQueue: (input) => this.tagQueue(input),
        UntagQueue: (input) => this.untagQueue(input),
        ListQueueTags: (input) => this.listQueueTags(input),
      },
    };
    // Rules, schedules, state machines and on-failure destinations send to queues by ARN (with
    // message attributes: EventBridge dead-letter deliveries carry some).
    context.targets.register('arn:aws:sqs:', async (delivery) => {
      const extra = delivery as typeof delivery & { delaySeconds?: number };
      return this.send(delivery.arn, delivery.input, {
        messageGroupId: delivery.messageGroupId,
        messageDeduplicationId: delivery.messageDeduplicationId,
        messageAttributes: delivery.messageAttributes,
        delaySeconds: extra.delaySeconds,
      });
    });
  }

  /** Sets the base URL queue URLs are given out with (the control URL, known once it listens). */
  setEndpoint(endpoint: string): void {
    this.endpoint = endpoint.replace(/\/$/, '');
  }

  /** Creates the queues of the templates, reporting what of them is not emulated. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { model } = this.context;
    const created: Array<{ resource: ModelResource; queue: Queue }> = [];
    for (const resource of model.ofType('AWS::SQS::Queue')) {
      const queue = this.createTemplateQueue(resource);
      if (queue) created.push({ resource, queue });
    }
    // Dead-letter queues are checked once every queue of the templates exists.
    for (const { resource, queue } of created) {
      const redrive = queue.redrivePolicy;
      if (!redrive) continue;
      const target = this.queueByArn(redrive.deadLetterTargetArn);
      if (!target) {
        model.diagnostics.error(
          `${resource.where}/RedrivePolicy`,
          `dead-letter queue ${redrive.deadLetterTargetArn} is not a queue of the templates`,
        );
      } else if (target.fifo !== queue.fifo) {
        model.diagnostics.error(
          `${resource.where}/RedrivePolicy`,
          `the dead-letter queue of a ${queue.fifo ? 'FIFO' : 'standard'} queue must be one too`,
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of [...this.waiters]) waiter.cancel();
    for (const queue of this.queues.values()) queue.close();
  }

  /** True when no long poll is about to be answered (polls waiting for messages are idle). */
  isIdle(): boolean {
    for (const waiter of this.waiters) if (!waiter.queue.deleted && waiter.queue.hasReceivable()) return false;
    return true;
  }

  /** The local URL of a queue given by name, ARN or URL (the AWS form when no endpoint is set yet). */
  queueUrl(nameOrArn: string): string {
    const name = this.nameOf(nameOrArn);
    const base = this.endpoint ?? `https://sqs.${this.context.model.region}.amazonaws.com`;
    return `${base}/${this.context.model.accountId}/${name}`;
  }

  /**
   * Rewrites AWS queue URLs of this account inside `text` (`https://sqs.{region}.amazonaws.com/
   * {account}/{name}`, the legacy `queue.amazonaws.com` forms) to local ones. Functions must get
   * these: an SDK client whose endpoint comes from `AWS_ENDPOINT_URL_SQS` sends a request for an
   * AWS-style QueueUrl to that URL's host (its queueUrl middleware), i.e. to real AWS.
   */
  localizeUrls(text: string): string {
    if (!this.endpoint) return text;
    const account = this.context.model.accountId;
    return text.replace(
      /https:\/\/(?:sqs\.[a-z0-9-]+\.amazonaws\.com|(?:[a-z0-9-]+\.)?queue\.amazonaws\.com)\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)/g,
      (match, acct: string, name: string) => (acct === account ? `${this.endpoint}/${acct}/${name}` : match),
    );
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.context.model.region}:${this.context.model.accountId}:${name}`;
  }

  /** A live queue by name, ARN or URL (an ARN or URL of another account or region is no local queue). */
  queue(nameArnOrUrl: string): Queue | undefined {
    const queue = this.queues.get(this.nameOf(nameArnOrUrl));
    if (!queue || queue.deleted) return undefined;
    if (nameArnOrUrl.startsWith('arn:')) return queue.arn === nameArnOrUrl ? queue : undefined;
    if (nameArnOrUrl.includes('/') && parseQueueUrl(nameArnOrUrl)?.accountId !== this.context.model.accountId) return undefined;
    return queue;
  }

  queueByArn(arn: string): Queue | undefined {
    return arn.startsWith('arn:') ? this.queue(arn) : undefined;
  }

  /** Every live queue. */
  list(): Queue[] {
    return [...this.queues.values()].filter((q) => !q.deleted);
  }

  /**
   * Sends a message as SendMessage does (same validation and errors), for the other local
   * services: EventBridge and Scheduler targets, Step Functions `sqs:sendMessage`, destinations.
   */
  send(queueArnOrUrl: string, body: string, options: SendOptions = {}): SendMessageOutput {
    const queue = this.queue(queueArnOrUrl);
    if (!queue) throw sqsError('QueueDoesNotExist', `The specified queue does not exist: ${queueArnOrUrl}`);
    return this.enqueue(queue, {
      MessageBody: body,
      MessageAttributes: options.messageAttributes,
      MessageSystemAttributes: options.messageSystemAttributes,
      MessageGroupId: options.messageGroupId,
      MessageDeduplicationId: options.messageDeduplicationId,
      DelaySeconds: options.delaySeconds,
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Queues

  private createTemplateQueue(resource: ModelResource): Queue | undefined {
    const { model } = this.context;
    const props = model.properties(resource);
    const name = resource.physicalId;
    const fifo = name.endsWith('.fifo');
    if (!(fifo ? FIFO_NAME : STANDARD_NAME).test(name)) {
      model.diagnostics.error(`${resource.where}/QueueName`, `"${name}" is not a valid ${fifo ? 'FIFO ' : ''}queue name`);
      return undefined;
    }
    const attributes = defaultAttributes(fifo);
    for (const [key, raw] of Object.entries(props)) {
      if (key === 'QueueName') continue;
      if (key === 'Tags') continue;
      if (!TEMPLATE_ATTRIBUTES.includes(key)) {
        model.diagnostics.unsupported(`${resource.where}/${key}`, `${key} is not emulated for SQS queues (ignored)`);
        continue;
      }
      if (NO_LOCAL_EFFECT[key]) model.diagnostics.ignored(`${resource.where}/${key}`, NO_LOCAL_EFFECT[key]!);
      const value = raw !== null && typeof raw === 'object' ? JSON.stringify(raw) : raw;
      try {
        Object.assign(attributes, validateQueueAttributes({ [key]: value }, fifo, true));
      } catch (error) {
        model.diagnostics.error(`${resource.where}/${key}`, (error as Error).message);
      }
    }
    if (attributes.KmsMasterKeyId) attributes.SqsManagedSseEnabled = 'false';
    if (attributes.FifoQueue === 'false') delete attributes.FifoQueue;
    const tags: Record<string, string> = {};
    if (Array.isArray(props.Tags))
      for (const tag of props.Tags as Array<{ Key?: unknown; Value?: unknown }>) tags[String(tag.Key)] = String(tag.Value ?? '');
    if (this.queues.has(name)) {
      model.diagnostics.error(resource.where, `queue name ${name} is used twice`);
      return undefined;
    }
    return this.addQueue(name, attributes, tags);
  }

  private addQueue(name: string, attributes: Record<string, string>, tags: Record<string, string>): Queue {
    const queue = new Queue({
      name,
      arn: this.queueArn(name),
      attributes,
      tags,
      clock: this.context.clock,
      queueByArn: (arn) => this.queueByArn(arn),
      log: this.context.log,
    });
    this.queues.set(name, queue);
    return queue;
  }

  private createQueue(input: Record<string, unknown>) {
    const name = input.QueueName;
    if (typeof name !== 'string' || name.length === 0)
      throw sqsError('MissingParameter', 'The request must contain the parameter QueueName.');
    const fifo = name.endsWith('.fifo');
    if (!(fifo ? FIFO_NAME : STANDARD_NAME).test(name)) {
      throw sqsError(
        'InvalidParameterValue',
        fifo
          ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const given = validateQueueAttributes(input.Attributes, fifo, true);
    if (given.FifoQueue === undefined && fifo) {
      throw sqsError('InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    if (given.FifoQueue === 'false') delete given.FifoQueue; // standard queues have no such attribute
    this.checkRedrivePolicy(given.RedrivePolicy, fifo);
    const existing = this.queue(name);
    if (existing) {
      for (const [key, value] of Object.entries(given)) {
        if ((existing.attributes[key] ?? '') !== value) {
          throw sqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${key}`);
        }
      }
      return { QueueUrl: this.queueUrl(name) };
    }
    const deletedAt = this.deletedAt.get(name);
    if (deletedAt !== undefined && this.context.clock.now() - deletedAt < RECREATE_DELAY_MS) {
      throw sqsError(
        'QueueDeletedRecently',
        'You must wait 60 seconds after deleting a queue before you can create another queue with the same name.',
      );
    }
    const attributes = { ...defaultAttributes(fifo), ...given };
    if (attributes.KmsMasterKeyId && given.SqsManagedSseEnabled === undefined) attributes.SqsManagedSseEnabled = 'false';
    for (const key of ['RedrivePolicy', 'RedriveAllowPolicy', 'Policy']) if (attributes[key] === '') delete attributes[key];
    const tags =
      input.tags && typeof input.tags === 'object'
        ? Object.fromEntries(Object.entries(input.tags as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
        : {};
    this.addQueue(name, attributes, tags);
    return { QueueUrl: this.queueUrl(name) };
  }

  private getQueueUrl(input: Record<string, unknown>) {
    const name = input.QueueName;
    if (typeof name !== 'string' || name.length === 0)
      throw sqsError('MissingParameter', 'The request must contain the parameter QueueName.');
    const owner = input.QueueOwnerAWSAccountId;
    if (owner !== undefined && owner !== this.context.model.accountId)
      throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    if (!this.queue(name)) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return { QueueUrl: this.queueUrl(name) };
  }

  private listQueues(input: Record<string, unknown>) {
    const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
    const max = optionalInteger(input, 'MaxResults', 1, 1000);
    const names = this.list()
      .map((q) => q.name)
      .filter((n) => n.startsWith(prefix))
      .sort();
    return paginate(names, input.NextToken, max, (page, next) => ({
      ...(page.length > 0 ? { QueueUrls: page.map((n) => this.queueUrl(n)) } : {}),
      ...(next ? { NextToken: next } : {}),
    }));
  }

  private deleteQueue(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    queue.close();
    this.queues.delete(queue.name);
    this.deletedAt.set(queue.name, this.context.clock.now());
    return {};
  }

  private getQueueAttributes(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const names = stringList(input.AttributeNames, 'AttributeNames');
    for (const name of names)
      if (name !== 'All' && !READABLE_ATTRIBUTES.has(name)) throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const all = this.attributesOf(queue);
    const selected = names.includes('All') ? all : Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n]!]));
    return Object.keys(selected).length > 0 ? { Attributes: selected } : {};
  }

  /** Every attribute GetQueueAttributes returns for `All`. */
  attributesOf(queue: Queue): Record<string, string> {
    const counts = queue.counts();
    const seconds = (ms: number) => String(Math.floor(ms / 1000));
    return {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: seconds(queue.createdAt),
      LastModifiedTimestamp: seconds(queue.lastModifiedAt),
      ...queue.attributes,
    };
  }

  private setQueueAttributes(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    if (input.Attributes === undefined) throw sqsError('MissingParameter', 'The request must contain the parameter Attributes.');
    const given = validateQueueAttributes(input.Attributes, queue.fifo, false);
    this.checkRedrivePolicy(given.RedrivePolicy, queue.fifo, queue);
    queue.setAttributes(given);
    return {};
  }

  /** A redrive policy must name an existing dead-letter queue of the same type (not the queue itself). */
  private checkRedrivePolicy(policy: string | undefined, fifo: boolean, self?: Queue): void {
    if (!policy) return;
    const { deadLetterTargetArn } = JSON.parse(policy) as { deadLetterTargetArn: string };
    const target = this.queueByArn(deadLetterTargetArn);
    const invalid = (reason: string) =>
      sqsError('InvalidParameterValue', `Value ${policy} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
    if (!target) throw invalid('Dead letter target does not exist.');
    if (target.fifo !== fifo) throw invalid('Dead-letter queue must be same type of queue as the source.');
    if (target === self) throw invalid('A queue cannot be its own dead-letter queue.');
  }

  private purgeQueue(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const now = this.context.clock.now();
    if (queue.lastPurgeAt !== undefined && now - queue.lastPurgeAt < PURGE_INTERVAL_MS) {
      throw sqsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`);
    }
    queue.purge();
    return {};
  }

  private listDeadLetterSourceQueues(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const max = optionalInteger(input, 'MaxResults', 1, 1000);
    const sources = this.list()
      .filter((q) => q.redrivePolicy?.deadLetterTargetArn === queue.arn)
      .map((q) => q.name)
      .sort();
    return paginate(sources, input.NextToken, max, (page, next) => ({
      queueUrls: page.map((n) => this.queueUrl(n)),
      ...(next ? { NextToken: next } : {}),
    }));
  }

  private tagQueue(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const tags = input.Tags;
    if (!tags || typeof tags !== 'object') throw sqsError('MissingParameter', 'The request must contain the parameter Tags.');
    for (const [k, v] of Object.entries(tags as Record<string, unknown>)) queue.tags[k] = String(v);
    return {};
  }

  private untagQueue(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    for (const key of stringList(input.TagKeys, 'TagKeys')) delete queue.tags[key];
    return {};
  }

  private listQueueTags(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    return Object.keys(queue.tags).length > 0 ? { Tags: { ...queue.tags } } : {};
  }

  // -----------------------------------------------------------------------------------------------
  // Messages

  private sendMessage(input: Record<string, unknown>): SendMessageOutput {
    return this.enqueue(this.requireQueue(input), input);
  }

  /** Validates one SendMessage(-Batch entry) request and enqueues it. */
  private enqueue(queue: Queue, input: Record<string, unknown>): SendMessageOutput {
    const body = validateBody(input.MessageBody);
    const messageAttributes = validateAttributes(input.MessageAttributes, 'user');
    const systemAttributes = validateAttributes(input.MessageSystemAttributes, 'system');
    const size = messageSize(body, messageAttributes);
    if (size > queue.maximumMessageSize) {
      throw sqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`,
      );
    }
    let delaySeconds: number | undefined;
    if (input.DelaySeconds !== undefined && input.DelaySeconds !== null) {
      const value = input.DelaySeconds;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DELAY_SECONDS) {
        throw sqsError(
          'InvalidParameterValue',
          `Value ${String(value)} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= ${MAX_DELAY_SECONDS}.`,
        );
      }
      delaySeconds = value;
    }
    const groupId = validateGroupOrDeduplicationId(input.MessageGroupId, 'MessageGroupId');
    const deduplicationId = validateGroupOrDeduplicationId(input.MessageDeduplicationId, 'MessageDeduplicationId');
    if (queue.fifo) {
      if (delaySeconds !== undefined && delaySeconds > 0) {
        throw sqsError(
          'InvalidParameterValue',
          `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`,
        );
      }
      if (groupId === undefined) throw sqsError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
      if (deduplicationId === undefined && !queue.contentBasedDeduplication) {
        throw sqsError(
          'InvalidParameterValue',
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
      delaySeconds = undefined;
    } else if (deduplicationId !== undefined) {
      throw sqsError(
        'InvalidParameterValue',
        `Value ${deduplicationId} for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type.`,
      );
    }
    const result = queue.enqueue({
      body,
      messageAttributes,
      systemAttributes,
      delaySeconds,
      groupId,
      deduplicationId,
      senderId: this.context.model.accountId,
    });
    return {
      MessageId: result.messageId,
      MD5OfMessageBody: result.md5OfBody,
      ...(result.md5OfMessageAttributes ? { MD5OfMessageAttributes: result.md5OfMessageAttributes } : {}),
      ...(result.md5OfSystemAttributes ? { MD5OfMessageSystemAttributes: result.md5OfSystemAttributes } : {}),
      ...(result.sequenceNumber ? { SequenceNumber: result.sequenceNumber } : {}),
    };
  }

  private sendMessageBatch(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const entries = batchEntries(input.Entries);
    let total = 0;
    for (const entry of entries) {
      if (typeof entry.MessageBody === 'string') total += Buffer.byteLength(entry.MessageBody, 'utf8');
      try {
        total += messageSize('', validateAttributes(entry.MessageAttributes, 'user'));
      } catch {
        /* reported per entry below */
      }
    }
    if (total > MAX_BATCH_PAYLOAD_BYTES) {
      throw sqsError(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${MAX_BATCH_PAYLOAD_BYTES} bytes. You have sent ${total} bytes.`,
      );
    }
    return runBatch(entries, (entry) => {
      const output = this.enqueue(queue, entry);
      return { Id: entry.Id, ...output };
    });
  }

  private async receiveMessage(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const max = optionalInteger(input, 'MaxNumberOfMessages', 1, 10, 'Must be between 1 and 10, if provided.') ?? 1;
    const visibilityTimeout = optionalInteger(input, 'VisibilityTimeout', 0, 43_200);
    const waitSeconds =
      optionalInteger(input, 'WaitTimeSeconds', 0, 20, 'Must be >= 0 and <= 20, if provided.') ?? queue.receiveWaitTimeSeconds;
    const systemNames = [
      ...stringList(input.AttributeNames, 'AttributeNames'),
      ...stringList(input.MessageSystemAttributeNames, 'MessageSystemAttributeNames'),
    ];
    const attributeNames = stringList(input.MessageAttributeNames, 'MessageAttributeNames');
    let received = queue.receive(max, visibilityTimeout);
    if (received.length === 0 && waitSeconds > 0 && !this.stopped)
      received = await this.longPoll(queue, max, visibilityTimeout, waitSeconds);
    if (received.length === 0) return {};
    return {
      Messages: received.map(({ message, receiptHandle }) => {
        const system = selectAttributes(systemAttributesOf(message), systemNames);
        const user = selectAttributes(message.messageAttributes, attributeNames);
        const md5 = md5OfAttributes(user);
        return {
          MessageId: message.messageId,
          ReceiptHandle: receiptHandle,
          MD5OfBody: message.md5OfBody,
          Body: message.body,
          ...(Object.keys(system).length > 0 ? { Attributes: system } : {}),
          ...(md5 ? { MD5OfMessageAttributes: md5, MessageAttributes: attributesToApi(user) } : {}),
        };
      }),
    };
  }

  /** Waits until a receive returns messages, the wait time passes (virtual or real), or the queue goes. */
  private longPoll(queue: Queue, max: number, visibilityTimeout: number | undefined, waitSeconds: number): Promise<ReceivedMessage[]> {
    const { clock } = this.context;
    return new Promise((resolve) => {
      const cleanup: Array<() => void> = [];
      const waiter: Waiter = {
        queue,
        cancel: () => {
          if (!this.waiters.delete(waiter)) return;
          for (const undo of cleanup) undo();
          resolve(received);
        },
      };
      let received: ReceivedMessage[] = [];
      this.waiters.add(waiter);
      const virtualTimer = clock.setTimeout(waitSeconds * 1000, () => waiter.cancel(), `SQS long poll on ${queue.name}`);
      const realTimer = setTimeout(() => waiter.cancel(), waitSeconds * 1000);
      realTimer.unref();
      cleanup.push(
        () => clock.clearTimer(virtualTimer),
        () => clearTimeout(realTimer),
        queue.onChange(() => {
          if (!queue.deleted) received = queue.receive(max, visibilityTimeout);
          if (queue.deleted || received.length > 0) waiter.cancel();
        }),
      );
    });
  }

  private deleteMessage(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    queue.deleteMessage(requireString(input, 'ReceiptHandle'));
    return {};
  }

  private deleteMessageBatch(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    return runBatch(batchEntries(input.Entries), (entry) => {
      queue.deleteMessage(requireString(entry, 'ReceiptHandle'));
      return { Id: entry.Id };
    });
  }

  private changeMessageVisibility(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    const handle = requireString(input, 'ReceiptHandle');
    const timeout = optionalInteger(input, 'VisibilityTimeout', 0, 43_200);
    if (timeout === undefined) throw sqsError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
    queue.changeVisibility(handle, timeout);
    return {};
  }

  private changeMessageVisibilityBatch(input: Record<string, unknown>) {
    const queue = this.requireQueue(input);
    return runBatch(batchEntries(input.Entries), (entry) => {
      const timeout = optionalInteger(entry, 'VisibilityTimeout', 0, 43_200) ?? 0;
      queue.changeVisibility(requireString(entry, 'ReceiptHandle'), timeout);
      return { Id: entry.Id };
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Helpers

  private requireQueue(input: Record<string, unknown>): Queue {
    const url = requireString(input, 'QueueUrl');
    const parsed = parseQueueUrl(url);
    if (!parsed) throw sqsError('QueueDoesNotExist', `The specified queue does not exist: ${url} is not a queue URL.`);
    if (parsed.accountId !== this.context.model.accountId) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    const queue = this.queue(parsed.name);
    if (!queue) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /** The queue name in a name, an ARN or a URL. */
  private nameOf(ref: string): string {
    if (ref.startsWith('arn:')) return ref.split(':').slice(5).join(':');
    if (ref.includes('/')) return parseQueueUrl(ref)?.name ?? ref;
    return ref;
  }
}

/** System attributes of a received message, as ReceiveMessage returns them with `All`. */
export function systemAttributesOf(message: StoredMessage): Record<string, string> {
  return {
    SenderId: message.senderId,
    SentTimestamp: String(Math.floor(message.sentTimestamp)),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(Math.floor(message.firstReceiveAt ?? message.sentTimestamp)),
    ...(message.sequenceNumber ? { SequenceNumber: message.sequenceNumber } : {}),
    ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId } : {}),
    ...(message.groupId !== undefined ? { MessageGroupId: message.groupId } : {}),
    ...(message.systemAttributes.AWSTraceHeader?.StringValue
      ? { AWSTraceHeader: message.systemAttributes.AWSTraceHeader.StringValue }
      : {}),
    ...(message.deadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: message.deadLetterQueueSourceArn } : {}),
  };
}

/** `{account, name}` of a queue URL of any host (AWS or local): its last two path segments. */
export function parseQueueUrl(url: string): { accountId: string; name: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  if (segments.length < 2) return undefined;
  return { accountId: segments[segments.length - 2]!, name: segments[segments.length - 1]! };
}

function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value.length === 0) throw sqsError('MissingParameter', `The request must contain the parameter ${key}.`);
  return value;
}

function optionalInteger(input: Record<string, unknown>, key: string, min: number, max: number, reason?: string): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${String(value)} for parameter ${key} is invalid. Reason: ${reason ?? `Must be between ${min} and ${max}.`}`,
    );
  }
  return value;
}

function stringList(value: unknown, key: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw sqsError('InvalidParameterValue', `${key} must be a list of strings.`);
  return value as string[];
}

type BatchEntry = Record<string, unknown> & { Id: string };

/** Checks a batch's shape: 1-10 entries, each with a valid, distinct `Id`. */
function batchEntries(value: unknown): BatchEntry[] {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw sqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  }
  if (!Array.isArray(value)) throw sqsError('InvalidParameterValue', 'Entries must be a list.');
  if (value.length > 10)
    throw sqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${value.length}.`);
  const ids = new Set<string>();
  for (const entry of value as Array<Record<string, unknown>>) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
      throw sqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    ids.add(id);
  }
  return value as BatchEntry[];
}

/** Runs each entry, collecting `Successful` and `Failed` (with the error's code) as SQS answers batches. */
function runBatch<T>(entries: BatchEntry[], run: (entry: BatchEntry) => T) {
  const Successful: T[] = [];
  const Failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
  for (const entry of entries) {
    try {
      Successful.push(run(entry));
    } catch (error) {
      const e = error as Error & { code?: string; status?: number };
      Failed.push({ Id: entry.Id, SenderFault: (e.status ?? 500) < 500, Code: e.code ?? 'InternalError', Message: e.message });
    }
  }
  return { Successful, Failed };
}

/** A page of `items` after `token` (the last item of the previous page, base64). */
function paginate<R>(items: string[], token: unknown, max: number | undefined, render: (page: string[], next?: string) => R): R {
  let start = 0;
  if (typeof token === 'string' && token.length > 0) {
    const after = Buffer.from(token, 'base64').toString('utf8');
    start = items.findIndex((i) => i > after);
    if (start < 0) start = items.length;
  }
  if (max === undefined) return render(items.slice(start));
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(page[page.length - 1]!, 'utf8').toString('base64') : undefined;
  return render(page, next);
}
