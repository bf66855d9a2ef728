/** An error the user must fix (bad flag, bad config): printed plainly, exit status 2. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, flagged: 1, usage: 2, failedMessages: 3 } as const;
