/**
 * Scan job ids: HMAC-SHA256 of the mailbox position under a key derived from `queue.key`. The same
 * position always gives the same id, so queuing it again while the job exists adds nothing; and
 * the id tells Redis nothing about the account, folder or message.
 */
import { createHmac } from 'node:crypto';
import type { MailboxPosition } from '../connect/types.js';
import { deriveKey } from './secret.js';

export type JobIdFor = (position: MailboxPosition) => string;

export function jobIds(queueKey: Buffer): JobIdFor {
  const key = deriveKey(queueKey, 'job ids');
  return ({ account, folder, uidValidity, uid }) =>
    // JSON keeps the fields apart: no folder name can make two positions hash the same input.
    // base64url has no ':', which BullMQ refuses in custom ids, and is never all digits.
    createHmac('sha256', key).update(JSON.stringify([account, folder, uidValidity, uid])).digest('base64url');
}
