/** Config for the review UI (`kestrel review`, and `kestrel run` in embedded mode). */
import * as z from 'zod';

export const reviewSchema = z.strictObject({
  /** host:port the UI listens on; false: `kestrel run` serves no UI. Loopback by default: put a TLS proxy in front, or set tls. */
  listen: z.union([z.literal(false), z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:8025' })]).default('127.0.0.1:8025'),
});
