import { describe, expect, it } from 'vitest';
import { analyseField } from '../../src/scan/analyse.js';

function classed(text: string, wordClass: string): string[] {
  return analyseField({ field: 'body', text, quoted: [] })
    .tokens.filter((t) => t.variants.includes(wordClass))
    .map((t) => text.slice(t.start, t.end));
}

describe('word classes', () => {
  it('marks first names, surnames beside them, and school names compromise lacks', () => {
    expect(classed('Isla Morgan is on a child protection plan.', '<name>')).toEqual(['Isla', 'Morgan']);
    expect(classed("Freya's mum rang; Chloe Okonkwo is off today.", '<name>')).toEqual(["Freya's", 'Chloe', 'Okonkwo']);
    expect(classed('Can you check Callum’s care plan?', '<name>')).toEqual(['Callum’s']);
    expect(classed("Freya's mum rang; Chloe Okonkwo is off today.", "<name's>")).toEqual(["Freya's"]);
  });

  it('leaves ordinary capitalised words, lower-case names and acronyms alone', () => {
    expect(classed('Will you cover 9X2? Please bring the SEN register.', '<name>')).toEqual([]);
    expect(classed('the poppy appeal starts in summer', '<name>')).toEqual([]);
    expect(classed('ISLA MORGAN', '<name>')).toEqual([]);
  });

  it('marks words inside paired quotation marks, straight, curly or angled', () => {
    expect(classed('She texted me "I want to die" last night', '<in-quotes>')).toEqual(['I', 'want', 'to', 'die']);
    expect(classed('He wrote “kill them all” and «go home» twice', '<in-quotes>')).toEqual(['kill', 'them', 'all', 'go', 'home']);
    expect(classed('"one" and then "two"', '<in-quotes>')).toEqual(['one', 'two']);
  });

  it('never runs a quotation past a blank line or a long way, nor from a stray mark', () => {
    // An inch mark neither opens nor closes, in the same paragraph or across one.
    expect(classed('My 12" screen broke. I am going to kill myself tonight. He said "ok".', '<in-quotes>')).toEqual(['ok']);
    expect(classed('The 12" pizza was cold.\n\nI want to die, honestly. "Fine".', '<in-quotes>')).toEqual(['Fine']);
    // A blank line the normaliser sees (here made of no-break spaces) ends a quotation too.
    expect(classed('Para one "quote\nstill\u00a0\n\u00a0\nPara two" here', '<in-quotes>')).toEqual([]);
    expect(classed(`"${'word '.repeat(100)}" and after`, '<in-quotes>')).toEqual([]);
    expect(classed('I said ” nothing “ at all', '<in-quotes>')).toEqual([]);
  });

  it('marks numbers', () => {
    expect(classed('Room 14 at 9 then B12', '<number>')).toEqual(['14', '9']);
  });
});
