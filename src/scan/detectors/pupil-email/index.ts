/**
 * The pupil-email rules that turn on who writes to whom: trust accounts only between staff and
 * pupils, no personal contact details between them, pupils keeping their own details private.
 * Runs after the personal-data detector, whose findings it reads. The text rules of the same
 * categories (invitations to connect, social-network sign-ups, "using my own email") are lexicons.
 */
import type { Detector } from '../../types.js';
import { nonTrustAccount } from './accounts.js';
import { personalContact } from './contact.js';

export function createPupilEmailDetector(): Detector {
  return {
    id: 'pupil-email',
    detect(message, _context, earlier = []) {
      return [...nonTrustAccount(message), ...personalContact(message, earlier)];
    },
  };
}
