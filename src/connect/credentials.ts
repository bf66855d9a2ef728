/**
 * What an account logs in with: a password from a secret, or an OAuth2 access token (XOAUTH2).
 * One instance per account, shared by its folder connections, so a token command runs once per
 * refresh however many folders are watched.
 */
import type { AuthOptions } from 'imapflow';
import type { AccountConfig } from '../config/operations-schema.js';
import { readSecret } from '../queue/secret.js';
import { AccessTokenProvider } from './oauth-token.js';

export interface Login {
  auth: AuthOptions;
  /** Epoch ms by which a session on this login must reconnect (the token's refresh time). */
  renewAt?: number;
}

export interface Credentials {
  login(): Promise<Login>;
  /** The server refused the last login: do not offer the same token again. */
  refused(): void;
}

export function accountCredentials(account: AccountConfig, env: NodeJS.ProcessEnv = process.env): Credentials {
  if (account.oauth2) {
    const tokens = new AccessTokenProvider(account.id, account.oauth2);
    return {
      async login() {
        const token = await tokens.token();
        return { auth: { user: account.user, accessToken: token.value }, renewAt: token.renewAt };
      },
      refused: () => tokens.invalidate(),
    };
  }
  const password = account.password;
  if (!password) throw new Error(`account "${account.id}": neither password nor oauth2 is configured`);
  return {
    // Read at each login, so a rotated password file is picked up on the next reconnect.
    async login() {
      return { auth: { user: account.user, pass: readSecret(password, `account "${account.id}": password`, env) } };
    },
    // The password is read afresh at every login anyway.
    refused: () => undefined,
  };
}
