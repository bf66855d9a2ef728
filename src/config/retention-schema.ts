/** How long review data is kept (`002_ac353918cf928566.txt`, Monitoring and Logging: no longer than necessary). */
import * as z from 'zod';

export const retentionSchema = z.strictObject({});
