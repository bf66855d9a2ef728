/** An error the user must fix (bad flag, bad config): printed plainly, exit status 2. */
export class UsageError extends Error {}

/** A long-running command could not start: a store, Redis or secret it needs is missing or refused. */
export class StartupError extends Error {}

export const EXIT = { ok: 0, flagged: 1, usage: 2, failedMessages: 3, cannotStart: 4 } as const;
