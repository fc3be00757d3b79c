/**
 * One SQS queue: its attributes and messages, with the semantics of the Amazon SQS Developer
 * Guide, on the virtual clock (every timestamp, delay, visibility timeout and retention period is
 * virtual time):
 *
 *  - A message is delayed (queue `DelaySeconds` or its own), then visible; a receive makes it
 *    invisible for the visibility timeout and hands out a new receipt handle; it returns when the
 *    timeout expires (a clock timer wakes receivers) unless deleted with its latest handle.
 *  - `RedrivePolicy`: a message received `maxReceiveCount` times without being deleted moves to
 *    the dead-letter queue at the next receive attempt (as SQS does), keeping its id, body,
 *    attributes and `SentTimestamp`, with `DeadLetterQueueSourceArn` set.
 *  - Retention: a message older than `MessageRetentionPeriod` (from its original enqueue time; a
 *    FIFO dead-letter queue restarts it) is deleted.
 *  - FIFO: messages of a group are received in order, a group is locked while any of its
 *    messages is in flight, a receive returns as many messages of one group as it can before the
 *    next group, deduplication ids (explicit or SHA-256 of the body) are remembered for 5 minutes
 *    per queue or per group (`DeduplicationScope`), every message gets a `SequenceNumber`.
 *
 * Standard queues keep order best-effort (a returned message keeps its place) and deliver each
 * receive exactly once locally: at-least-once duplicates are not simulated.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { TimerHandle, VirtualClock } from '../clock';
import { md5Hex, md5OfAttributes, type AttributeValue } from './md5';
import { sqsError } from './errors';

export const FIFO_DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;
/** The longest a message may stay invisible after one receive (ChangeMessageVisibility). */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;

export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

/** A message as SQS keeps it. */
export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: Readonly<Record<string, AttributeValue>>;
  /** `AWSTraceHeader`, the only system attribute a sender may set. */
  readonly systemAttributes: Readonly<Record<string, AttributeValue>>;
  readonly senderId: string;
  readonly sentTimestamp: number;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** Base of the retention period (epoch ms). */
  enqueuedAt: number;
  sequenceNumber?: string;
  deadLetterQueueSourceArn?: string;
  /** When the message is (or becomes) visible, epoch ms of virtual time. */
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** When the latest receive happened (the 12-hour visibility limit counts from there). */
  receivedAt?: number;
  /** Token of the latest receipt handle. */
  receipt?: string;
}

export interface NewMessage {
  readonly body: string;
  readonly messageAttributes?: Readonly<Record<string, AttributeValue>>;
  readonly systemAttributes?: Readonly<Record<string, AttributeValue>>;
  readonly delaySeconds?: number;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  readonly senderId: string;
}

export interface SendResult {
  readonly messageId: string;
  readonly md5OfBody: string;
  readonly md5OfMessageAttributes?: string;
  readonly md5OfSystemAttributes?: string;
  readonly sequenceNumber?: string;
  /** The message was a duplicate within the deduplication window: nothing was enqueued. */
  readonly duplicate: boolean;
}

/** One message handed out by a receive, with the receipt handle of that receive. */
export interface ReceivedMessage {
  readonly message: StoredMessage;
  readonly receiptHandle: string;
}

export interface QueueCounts {
  /** Visible (ApproximateNumberOfMessages). */
  readonly visible: number;
  /** Received and not yet visible again (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight: number;
  /** Never received and still delayed (ApproximateNumberOfMessagesDelayed). */
  readonly delayed: number;
}

export interface QueueInit {
  readonly name: string;
  readonly arn: string;
  readonly attributes: Record<string, string>;
  readonly tags?: Record<string, string>;
  readonly clock: VirtualClock;
  /** Another queue by ARN (dead-letter queues). */
  readonly queueByArn: (arn: string) => Queue | undefined;
  /** Where a queue reports what it did on its own (moving messages to a DLQ, dropping them). */
  readonly log: (line: string) => void;
}

export class Queue {
  readonly name: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly createdAt: number;
  lastModifiedAt: number;
  /** Validated attributes, as SQS returns them (strings). */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  deleted = false;
  lastPurgeAt?: number;
  private readonly clock: VirtualClock;
  private readonly queueByArn: (arn: string) => Queue | undefined;
  private readonly log: (line: string) => void;
  /** By message id, in enqueue order (Map iteration order). */
  private readonly messages = new Map<string, StoredMessage>();
  private readonly deduplication = new Map<string, { messageId: string; sequenceNumber?: string; expiresAt: number }>();
  private readonly listeners = new Set<() => void>();
  private wakeTimer?: TimerHandle;
  private nextExpiry = Infinity;
  private sequence = 0n;

  constructor(init: QueueInit) {
    this.name = init.name;
    this.arn = init.arn;
    this.fifo = init.name.endsWith('.fifo');
    this.attributes = { ...init.attributes };
    this.tags = { ...(init.tags ?? {}) };
    this.clock = init.clock;
    this.queueByArn = init.queueByArn;
    this.log = init.log;
    this.createdAt = this.clock.now();
    this.lastModifiedAt = this.createdAt;
  }

  get visibilityTimeoutSeconds(): number {
    return Number(this.attributes.VisibilityTimeout ?? 30);
  }

  get delaySeconds(): number {
    return Number(this.attributes.DelaySeconds ?? 0);
  }

  get retentionSeconds(): number {
    return Number(this.attributes.MessageRetentionPeriod ?? 345_600);
  }

  get maximumMessageSize(): number {
    return Number(this.attributes.MaximumMessageSize ?? 1_048_576);
  }

  get receiveWaitTimeSeconds(): number {
    return Number(this.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
  }

  get contentBasedDeduplication(): boolean {
    return this.attributes.ContentBasedDeduplication === 'true';
  }

  get redrivePolicy(): RedrivePolicy | undefined {
    const raw = this.attributes.RedrivePolicy;
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
    return { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount: Number(parsed.maxReceiveCount) };
  }

  setAttributes(attributes: Record<string, string>): void {
    this.attributes = { ...this.attributes, ...attributes };
    for (const [key, value] of Object.entries(attributes))
      if (value === '' && (key === 'RedrivePolicy' || key === 'RedriveAllowPolicy' || key === 'Policy')) delete this.attributes[key];
    this.lastModifiedAt = this.clock.now();
    this.nextExpiry = 0; // the retention period may have changed: look again at the next access
    this.notify();
  }

  // -----------------------------------------------------------------------------------------------
  // Sending

  /** Enqueues a validated message (see the service for validation). */
  enqueue(input: NewMessage): SendResult {
    const now = this.clock.now();
    const md5OfBody = md5Hex(input.body);
    const md5OfMessageAttributes = md5OfAttributes(input.messageAttributes ?? {});
    const md5OfSystemAttributes = md5OfAttributes(input.systemAttributes ?? {});
    let fifo: { deduplicationId: string; sequenceNumber: string } | undefined;
    let deduplicationKey = '';
    if (this.fifo) {
      const deduplicationId = input.deduplicationId ?? createHash('sha256').update(input.body, 'utf8').digest('hex');
      deduplicationKey =
        this.attributes.DeduplicationScope === 'messageGroup' ? `${input.groupId}\u0000${deduplicationId}` : deduplicationId;
      for (const [k, entry] of this.deduplication) if (entry.expiresAt <= now) this.deduplication.delete(k);
      const seen = this.deduplication.get(deduplicationKey);
      if (seen) {
        return {
          messageId: seen.messageId,
          md5OfBody,
          md5OfMessageAttributes,
          md5OfSystemAttributes,
          sequenceNumber: seen.sequenceNumber,
          duplicate: true,
        };
      }
      fifo = { deduplicationId, sequenceNumber: this.nextSequenceNumber() };
    }
    const messageId = randomUUID();
    if (fifo)
      this.deduplication.set(deduplicationKey, {
        messageId,
        sequenceNumber: fifo.sequenceNumber,
        expiresAt: now + FIFO_DEDUPLICATION_WINDOW_MS,
      });
    this.store({
      messageId,
      body: input.body,
      md5OfBody,
      messageAttributes: input.messageAttributes ?? {},
      systemAttributes: input.systemAttributes ?? {},
      senderId: input.senderId,
      sentTimestamp: now,
      groupId: input.groupId,
      enqueuedAt: now,
      // FIFO queues take no per-message delay (the service rejects it), so this is the queue's.
      visibleAt: now + (input.delaySeconds ?? this.delaySeconds) * 1000,
      receiveCount: 0,
      ...fifo,
    });
    return { messageId, md5OfBody, md5OfMessageAttributes, md5OfSystemAttributes, sequenceNumber: fifo?.sequenceNumber, duplicate: false };
  }

  /** Takes a message moved from another queue's redrive (same id, body, attributes, sent time). */
  adoptDeadLetter(message: StoredMessage, sourceArn: string): void {
    const now = this.clock.now();
    this.store({
      ...message,
      // A FIFO dead-letter queue restarts retention; a standard one keeps the original enqueue time.
      enqueuedAt: this.fifo ? now : message.enqueuedAt,
      sequenceNumber: this.fifo ? this.nextSequenceNumber() : undefined,
      deadLetterQueueSourceArn: sourceArn,
      visibleAt: now,
      receiveCount: 0,
      firstReceiveAt: undefined,
      receivedAt: undefined,
      receipt: undefined,
    });
  }

  private store(message: StoredMessage): void {
    this.messages.set(message.messageId, message);
    this.nextExpiry = Math.min(this.nextExpiry, message.enqueuedAt + this.retentionSeconds * 1000);
    this.scheduleWake(message.visibleAt);
    this.notify();
  }

  private nextSequenceNumber(): string {
    this.sequence += 1n;
    return (10n ** 19n + this.sequence).toString();
  }

  // -----------------------------------------------------------------------------------------------
  // Receiving

  /**
   * Receives up to `max` messages, making them invisible for `visibilityTimeoutSeconds` (the
   * queue's when undefined). Messages due for the dead-letter queue move there instead.
   */
  receive(max: number, visibilityTimeoutSeconds = this.visibilityTimeoutSeconds): ReceivedMessage[] {
    const now = this.clock.now();
    this.expire(now);
    const taken = this.select(max, now, true);
    const received = taken.map((message) => {
      message.receiveCount++;
      message.firstReceiveAt ??= now;
      message.receivedAt = now;
      message.receipt = randomBytes(12).toString('base64url');
      message.visibleAt = now + visibilityTimeoutSeconds * 1000;
      this.scheduleWake(message.visibleAt);
      return { message, receiptHandle: encodeReceipt(this.arn, message.messageId, message.receipt) };
    });
    return received;
  }

  /** Whether a receive now would return (or dead-letter) at least one message. */
  hasReceivable(): boolean {
    const now = this.clock.now();
    this.expire(now);
    return this.select(1, now, false).length > 0;
  }

  /**
   * The messages a receive takes, in order. With `act`, messages due for the dead-letter queue
   * are moved there on the way (without, they count as receivable).
   */
  private select(max: number, now: number, act: boolean): StoredMessage[] {
    const out: StoredMessage[] = [];
    const redrive = this.redrivePolicy;
    const deadLetterQueue = redrive ? this.queueByArn(redrive.deadLetterTargetArn) : undefined;
    const consider = (message: StoredMessage): 'take' | 'moved' => {
      if (deadLetterQueue && redrive && message.receiveCount >= redrive.maxReceiveCount) {
        if (!act) return 'take';
        this.messages.delete(message.messageId);
        deadLetterQueue.adoptDeadLetter(message, this.arn);
        this.log(
          `queue ${this.name}: message ${message.messageId} received ${message.receiveCount} time(s) (maxReceiveCount ${redrive.maxReceiveCount}): moved to ${deadLetterQueue.name}`,
        );
        return 'moved';
      }
      return 'take';
    };
    if (!this.fifo) {
      for (const message of this.messages.values()) {
        if (out.length >= max) break;
        if (message.visibleAt > now) continue;
        if (consider(message) === 'take') out.push(message);
      }
      return out;
    }
    // FIFO: groups in order of their oldest message; a group with a message in flight is locked.
    const groups = new Map<string, StoredMessage[]>();
    for (const message of this.messages.values()) {
      const group = message.groupId ?? '';
      let list = groups.get(group);
      if (!list) {
        list = [];
        groups.set(group, list);
      }
      list.push(message);
    }
    for (const list of groups.values()) {
      if (out.length >= max) break;
      if (list.some((m) => m.receipt !== undefined && m.visibleAt > now)) continue;
      for (const message of list) {
        if (out.length >= max) break;
        if (message.visibleAt > now) break; // later messages of the group wait behind it
        if (consider(message) === 'take') out.push(message);
      }
    }
    return out;
  }

  // -----------------------------------------------------------------------------------------------
  // Deleting and changing visibility

  /**
   * Deletes the message of `receiptHandle`. A handle of an earlier receive (the message was
   * received again since) or of a message already deleted succeeds without effect, as SQS
   * documents; a handle that is not one of this queue's is invalid.
   */
  deleteMessage(receiptHandle: string): void {
    const { messageId, token } = this.parseReceipt(receiptHandle);
    const message = this.messages.get(messageId);
    if (!message || message.receipt !== token) return;
    this.messages.delete(messageId);
    // Deleting a FIFO message can unlock its group.
    if (this.fifo) this.notify();
  }

  changeVisibility(receiptHandle: string, timeoutSeconds: number): void {
    const { messageId, token } = this.parseReceipt(receiptHandle);
    const message = this.messages.get(messageId);
    const now = this.clock.now();
    if (!message || message.receipt !== token) {
      throw sqsError(
        'InvalidParameterValue',
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (message.visibleAt <= now) throw sqsError('MessageNotInflight', 'The message referred to is not in flight.');
    if (now + timeoutSeconds * 1000 - (message.receivedAt ?? now) > MAX_VISIBILITY_TIMEOUT_SECONDS * 1000) {
      throw sqsError(
        'InvalidParameterValue',
        `Value ${timeoutSeconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_TIMEOUT_SECONDS} seconds]`,
      );
    }
    message.visibleAt = now + timeoutSeconds * 1000;
    this.scheduleWake(message.visibleAt);
    if (timeoutSeconds === 0) this.notify();
  }

  /** Deletes every message (PurgeQueue). */
  purge(): void {
    this.messages.clear();
    this.lastPurgeAt = this.clock.now();
    this.notify();
  }

  counts(): QueueCounts {
    const now = this.clock.now();
    this.expire(now);
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) visible++;
      else if (message.receiveCount > 0) inFlight++;
      else delayed++;
    }
    return { visible, inFlight, delayed };
  }

  /** Every message, for debugging and tests. */
  snapshot(): StoredMessage[] {
    this.expire(this.clock.now());
    return [...this.messages.values()];
  }

  // -----------------------------------------------------------------------------------------------
  // Waiting for messages

  /**
   * Calls `listener` whenever messages may have become receivable (sent, visible again, a FIFO
   * group unlocked, the queue deleted). Returns the unsubscribe function.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends the queue's life: listeners are told, timers cleared. */
  close(): void {
    this.deleted = true;
    this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    this.notify();
    this.listeners.clear();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.log(`queue ${this.name}: a listener failed: ${(error as Error).message}`);
      }
    }
  }

  /** Keeps one clock timer at the earliest future moment a message becomes visible. */
  private scheduleWake(due: number): void {
    if (this.deleted || due <= this.clock.now()) return;
    if (this.wakeTimer && this.wakeTimer.due <= due) return;
    this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = this.clock.setTimer(due, () => this.wake(), `SQS ${this.name}: message visible`);
  }

  private wake(): void {
    this.wakeTimer = undefined;
    if (this.deleted) return;
    const now = this.clock.now();
    let next = Infinity;
    for (const message of this.messages.values()) if (message.visibleAt > now && message.visibleAt < next) next = message.visibleAt;
    if (next < Infinity) this.scheduleWake(next);
    this.notify();
  }

  /** Drops messages past the retention period. */
  private expire(now: number): void {
    if (now < this.nextExpiry) return;
    const retentionMs = this.retentionSeconds * 1000;
    let next = Infinity;
    for (const message of this.messages.values()) {
      const expiry = message.enqueuedAt + retentionMs;
      if (expiry <= now) this.messages.delete(message.messageId);
      else next = Math.min(next, expiry);
    }
    this.nextExpiry = next;
  }

  private parseReceipt(receiptHandle: string): { messageId: string; token: string } {
    const decoded = decodeReceipt(receiptHandle);
    if (!decoded || decoded.queueArn !== this.arn) {
      throw sqsError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
    }
    return decoded;
  }
}

/** Receipt handles carry the queue, the message and the receive they belong to. */
function encodeReceipt(queueArn: string, messageId: string, token: string): string {
  return Buffer.from(`${queueArn} ${messageId} ${token}`, 'utf8').toString('base64');
}

function decodeReceipt(handle: string): { queueArn: string; messageId: string; token: string } | undefined {
  if (typeof handle !== 'string' || !/^[A-Za-z0-9+/=]+$/.test(handle)) return undefined;
  const parts = Buffer.from(handle, 'base64').toString('utf8').split(' ');
  if (parts.length !== 3 || !parts[0]!.startsWith('arn:') || !parts[1] || !parts[2]) return undefined;
  return { queueArn: parts[0]!, messageId: parts[1]!, token: parts[2]! };
}
