/** A delivery status notification (RFC 3464) returning `returned`, whole or its header only, as relays write them. */
export function bounceReport(returned: Buffer, part: 'text/rfc822-headers' | 'message/rfc822', status = '5.2.2', recipient = 'head@oakfield.sch.uk'): Buffer {
  const content = part === 'message/rfc822' ? returned : returned.subarray(0, returned.indexOf('\r\n\r\n') + 4);
  return Buffer.concat([
    Buffer.from(
      [
        'From: Mail Delivery System <MAILER-DAEMON@relay.oakfield.sch.uk>',
        'To: kestrel@oakfield.sch.uk',
        'Subject: Undelivered Mail Returned to Sender',
        `Message-ID: <bounce-${Math.random().toString(36).slice(2)}@relay.oakfield.sch.uk>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'The mailbox is full.',
        '--b',
        'Content-Type: message/delivery-status',
        '',
        `Final-Recipient: rfc822; ${recipient}`,
        'Action: failed',
        `Status: ${status}`,
        `Diagnostic-Code: smtp; 552 5.2.2 <${recipient}>: mailbox full`,
        '',
        '--b',
        `Content-Type: ${part}`,
        '',
        '',
      ].join('\r\n'),
    ),
    content,
    Buffer.from('\r\n--b--\r\n'),
  ]);
}
