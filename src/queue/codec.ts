/**
 * Scan job data: a FetchedMessage (raw message, mailbox position, envelope, skipped parts)
 * compressed and sealed with AES-256-GCM, so Redis never holds mail, addresses or mailbox names in
 * clear. The job id is authenticated with it: sealed data moved to another job fails to open.
 *
 * Format 1: job data `{ v: 1, sealed }`, `sealed` = base64(iv[12] | ciphertext | tag[16]); the
 * plaintext is brotli(header length [u32 BE] | header JSON | raw); the additional data is
 * `kestrel-scan:1:<job id>`.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';
import type { FetchedMessage } from '../connect/types.js';
import { deriveKey, seal, unseal, UnsealError } from './secret.js';

export const JOB_FORMAT_VERSION = 1;

/** What a scan job holds in Redis. */
export interface ScanJobData {
  v: number;
  sealed: string;
}

/** A job that cannot be opened: it will not open on a retry either. */
export class JobDecodeError extends Error {
  override name = 'JobDecodeError';
}

export interface JobCodec {
  encode(message: FetchedMessage, jobId: string): Promise<ScanJobData>;
  decode(data: unknown, jobId: string): Promise<FetchedMessage>;
}

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

function additionalData(jobId: string): Buffer {
  return Buffer.from(`kestrel-scan:${JOB_FORMAT_VERSION}:${jobId}`);
}

function frame(message: FetchedMessage): Buffer {
  const { raw, ...rest } = message;
  const header = Buffer.from(JSON.stringify(rest));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, raw]);
}

function unframe(plain: Buffer, jobId: string): FetchedMessage {
  const length = plain.length >= 4 ? plain.readUInt32BE(0) : Infinity;
  if (4 + length > plain.length) throw new JobDecodeError(`job ${jobId}: the decrypted message is truncated`);
  const header = JSON.parse(plain.subarray(4, 4 + length).toString('utf8')) as Omit<FetchedMessage, 'raw'>;
  return { ...header, raw: plain.subarray(4 + length) };
}

function isJobData(data: unknown): data is ScanJobData {
  return typeof data === 'object' && data !== null && typeof (data as ScanJobData).v === 'number' && typeof (data as ScanJobData).sealed === 'string';
}

export function jobCodec(queueKey: Buffer): JobCodec {
  const key = deriveKey(queueKey, 'message encryption');
  return {
    async encode(message, jobId) {
      // Quality 1: on the perf corpus as fast as deflate level 1 and within a few per cent of its size.
      const plain = await compress(frame(message), {
        params: { [constants.BROTLI_PARAM_QUALITY]: 1, [constants.BROTLI_PARAM_SIZE_HINT]: message.raw.length },
      });
      return { v: JOB_FORMAT_VERSION, sealed: seal(plain, key, additionalData(jobId)).toString('base64') };
    },

    async decode(data, jobId) {
      if (!isJobData(data)) throw new JobDecodeError(`job ${jobId}: not a Kestrel scan job (no sealed message)`);
      if (data.v !== JOB_FORMAT_VERSION) throw new JobDecodeError(`job ${jobId}: job format ${data.v} is not supported (this worker reads format ${JOB_FORMAT_VERSION})`);
      let plain: Buffer;
      try {
        plain = unseal(Buffer.from(data.sealed, 'base64'), key, additionalData(jobId));
      } catch (error) {
        if (!(error instanceof UnsealError)) throw error;
        throw new JobDecodeError(
          error.reason === 'truncated'
            ? `job ${jobId}: the sealed message is truncated`
            : `job ${jobId}: the message does not authenticate (queued with a different queue.key, or altered in Redis)`,
        );
      }
      try {
        return unframe(await decompress(plain), jobId);
      } catch (error) {
        if (error instanceof JobDecodeError) throw error;
        throw new JobDecodeError(`job ${jobId}: the decrypted message is corrupt (${error instanceof Error ? error.message : String(error)})`);
      }
    },
  };
}
