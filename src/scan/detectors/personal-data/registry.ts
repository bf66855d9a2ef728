/**
 * Every personal-data recognizer and message-level check, in priority order: where two claim the
 * same text with the same score, the earlier wins. A new kind of personal data is one file in
 * recognizers/ (or checks/) and one line here.
 */
import { bulkRecords } from './checks/bulk-records.js';
import { personalEmail } from './checks/personal-email.js';
import { misdirected, recipientsExposed, wrongContact } from './checks/recipients.js';
import { subjectName } from './checks/subject-name.js';
import type { MessageCheck } from './detector.js';
import type { Recognizer } from './recognizer.js';
import { bankDetails } from './recognizers/bank-details.js';
import { candidateNumber } from './recognizers/candidate-number.js';
import { cardNumber } from './recognizers/card-number.js';
import { credentials } from './recognizers/credentials.js';
import { dateOfBirth } from './recognizers/date-of-birth.js';
import { drivingLicence } from './recognizers/driving-licence.js';
import { homeAddress } from './recognizers/home-address.js';
import { nhsNumber } from './recognizers/nhs-number.js';
import { niNumber } from './recognizers/ni-number.js';
import { passportNumber } from './recognizers/passport.js';
import { phoneNumber } from './recognizers/phone-number.js';
import { uln } from './recognizers/uln.js';
import { upn } from './recognizers/upn.js';

export const RECOGNIZERS: readonly Recognizer[] = [nhsNumber, upn, uln, niNumber, passportNumber, drivingLicence, candidateNumber, cardNumber, bankDetails, phoneNumber, homeAddress, dateOfBirth, credentials];

export const MESSAGE_CHECKS: readonly MessageCheck[] = [bulkRecords, recipientsExposed, misdirected, wrongContact, subjectName, personalEmail];
