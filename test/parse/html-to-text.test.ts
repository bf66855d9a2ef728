import { describe, expect, it } from 'vitest';
import { htmlToText } from '../../src/scan/parse/html-to-text.js';

const BIG = 1_000_000;

function quotedTexts(result: { text: string; quoted: Array<{ start: number; end: number }> }): string[] {
  return result.quoted.map((r) => result.text.slice(r.start, r.end));
}

describe('htmlToText', () => {
  it('drops content a reader never sees', () => {
    const html = `<html><head><title>Page title</title><style>p { color: red }</style>
      <script>var secret = 1;</script></head><body>
      <noscript>enable js</noscript><template><p>tmpl</p></template>
      <svg><text>svg text</text><title>svg title</title></svg>
      <p>Visible</p><script type="text/javascript">alert("x")</script></body></html>`;
    expect(htmlToText(html, BIG).text).toBe('Visible');
  });

  it('decodes entities and collapses whitespace inside text', () => {
    const html = '<p>  Fish &amp;\n\n   chips &lt;3&gt; caf&eacute; &#39;ok&#39;&nbsp;&nbsp;now </p>';
    expect(htmlToText(html, BIG).text).toBe("Fish & chips <3> café 'ok' now");
  });

  it('turns blocks and <br> into line breaks, never more than two in a row', () => {
    const html =
      '<div>one</div><div>two</div><p>three</p>four<br>five<br><br><br><br>six' +
      '<ul><li>a</li><li>b</li></ul><h1>Title</h1><hr><section>end</section>';
    expect(htmlToText(html, BIG).text).toBe('one\ntwo\n\nthree\n\nfour\nfive\n\nsix\n\na\nb\n\nTitle\n\nend');
  });

  it('keeps inline elements on one line without inventing spaces', () => {
    expect(htmlToText('<p>He<b>ll</b>o <i>there</i>, <a href="x">friend</a></p>', BIG).text).toBe(
      'Hello there, friend',
    );
  });

  it('separates table cells and rows', () => {
    const html = '<table><tr><th>Name</th><th>Year</th></tr><tr><td>Sam</td><td>9</td></tr></table>after';
    expect(htmlToText(html, BIG).text).toBe('Name | Year\nSam | 9\n\nafter');
  });

  it('keeps spacing inside <pre>', () => {
    expect(htmlToText('<pre>a  b\n   c</pre>', BIG).text).toBe('a  b\n   c');
  });

  it('records blockquotes as quoted ranges in the output', () => {
    const html =
      '<div>My reply</div><blockquote type="cite"><div>Earlier <b>message</b></div>' +
      '<blockquote>older still</blockquote></blockquote><p>Sign-off</p>';
    const result = htmlToText(html, BIG);
    expect(result.text).toBe('My reply\n\nEarlier message\n\nolder still\n\nSign-off');
    expect(quotedTexts(result)).toEqual(['Earlier message\n\nolder still']);
  });

  it('records separate blockquotes separately', () => {
    const result = htmlToText('<blockquote>first</blockquote><p>mine</p><blockquote>second</blockquote>', BIG);
    expect(quotedTexts(result)).toEqual(['first', 'second']);
  });

  it('does not lose body text when <head> is never closed', () => {
    expect(htmlToText('<html><head><title>t</title><p>shown anyway</p>', BIG).text).toBe('shown anyway');
  });

  it('never returns tags from malformed markup', () => {
    const result = htmlToText('<div><p>unclosed <b>bold <span class="x"', BIG);
    expect(result.text).toBe('unclosed bold');
    expect(htmlToText('if a < b and c > d', BIG).text).toBe('if a < b and c > d');
  });

  it('stops at maxChars and says so', () => {
    const html = '<p>' + 'word '.repeat(1000) + '</p>';
    const result = htmlToText(html, 100);
    expect(result.truncated).toBe(true);
    expect(result.text.length).toBeLessThanOrEqual(100);
    expect(result.text.startsWith('word word')).toBe(true);
    expect(htmlToText('<p>short</p>', 100)).toEqual({ text: 'short', quoted: [], truncated: false });
  });

  it('cuts input beyond maxChars*4 before parsing, without leaking a half tag', () => {
    // Mostly markup, so the output stays under maxChars while the input is cut.
    const unit = '<span class="padding-padding">x</span>';
    const html = unit.repeat(50) + '<a href="http://example.com/' + 'a'.repeat(500) + '">link</a>';
    const result = htmlToText(html, 500);
    expect(result.truncated).toBe(true);
    expect(result.text).toBe('x'.repeat(50));
    expect(result.text).not.toContain('<');
  });

  it('closes a quote range that is cut off', () => {
    const result = htmlToText('<p>mine</p><blockquote>' + 'q'.repeat(100) + '</blockquote>', 30);
    expect(result.truncated).toBe(true);
    expect(result.quoted).toEqual([{ start: 6, end: 30 }]);
    expect(result.text.slice(6, 30)).toBe('q'.repeat(24));
  });

  it('handles a few MB quickly', () => {
    const html = '<div><p>Hello <b>there</b> &amp; welcome</p><blockquote>old</blockquote></div>'.repeat(40_000);
    const started = performance.now();
    const result = htmlToText(html, 2_000_000);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.text.startsWith('Hello there & welcome\n\nold\n\nHello')).toBe(true);
    expect(result.quoted).toHaveLength(40_000);
  });
});
