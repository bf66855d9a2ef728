/** Shared pieces for the end-to-end tests: the trust and its people's mail. */

export const TRUST = `trust:
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
`;

export const STAFF = 'h.ali@staff.oakfield.sch.uk';
export const PUPIL = '22jdoe@pupils.oakfield.sch.uk';
export const OTHER_PUPIL = '22kfox@pupils.oakfield.sch.uk';

export interface Mail {
  from: string;
  to: string;
  subject: string;
  body: string;
  id: string;
}

export function rfc822(mail: Mail, extraHeaders: string[] = []): Buffer {
  return Buffer.from(
    [
      ...extraHeaders,
      `From: ${mail.from}`,
      `To: ${mail.to}`,
      `Subject: ${mail.subject}`,
      'Date: Tue, 11 Mar 2025 13:20:54 +0000',
      `Message-ID: <${mail.id}@oakfield.sch.uk>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      mail.body,
      '',
    ].join('\r\n'),
  );
}

/** The recipient's copy of a message gains transport headers, as delivery adds them. */
export function delivered(mail: Mail): Buffer {
  return rfc822(mail, [`Delivered-To: ${mail.to}`, 'Received: from mx.oakfield.sch.uk by imap.oakfield.sch.uk; Tue, 11 Mar 2025 13:20:55 +0000']);
}

export const SELF_HARM: Mail = {
  from: PUPIL,
  to: OTHER_PUPIL,
  subject: 'tonight',
  body: 'I cant do this anymore. I want to kill myself tonight, I have saved up the pills and nobody will miss me.',
  id: 'self-harm-1',
};

export const STAFF_TO_PUPIL: Mail = {
  from: STAFF,
  to: PUPIL,
  subject: 'training',
  body: 'Well done today. Add me on Snapchat rather than Teams, my personal number is 07700 900123, text me any time and keep it between us.',
  id: 'staff-contact-1',
};

export function ordinary(n: number, from = STAFF, to = PUPIL): Mail {
  return { from, to, subject: `Homework ${n}`, body: `Please remember to hand in the geography homework on rivers by Friday. Sheet ${n} is on the shared drive.`, id: `ordinary-${n}` };
}
