// Reasons in words, the one wording verify, diff and the report print.
import { entriesByProgram, reasonInWords } from '../../../lib/inspect/reasons';
import type { Reason } from '../../../lib/model/closure';

describe('reasons in words', () => {
  it('names the entry whose program needs a library', () => {
    const words = reasonInWords({ kind: 'needed', name: 'libc.so.6', by: '/usr/bin/jq', via: 'ld.so.cache' }, (p) => (p === '/usr/bin/jq' ? ['jq'] : []));
    expect(words).toBe('needed by /usr/bin/jq (entry jq) (DT_NEEDED libc.so.6, found via ld.so.cache)');
  });

  it('says what a traced command did and what a collector found', () => {
    expect(reasonInWords({ kind: 'traced', entry: 'py', command: 'python3 -c 1', op: 'open' })).toBe('opened when tracing `python3 -c 1` (entry py)');
    expect(reasonInWords({ kind: 'collected', family: 'python', what: 'python stdlib' })).toBe('collected by python: python stdlib');
  });

  it('names an operation it has no word for as it is, an inherited property name included', () => {
    expect(reasonInWords({ kind: 'traced', entry: 'a', command: 'a', op: 'constructor' })).toBe('touched (constructor) when tracing `a` (entry a)');
  });

  it('lists the fields of a kind it does not know (a newer manifest), chains joined with arrows', () => {
    const future = { kind: 'preloaded', by: 'LD_PRELOAD', chain: ['/a', '/b'] } as unknown as Reason;
    expect(reasonInWords(future)).toBe('preloaded (by=LD_PRELOAD, chain=/a -> /b)');
    expect(reasonInWords({ kind: 'bare' } as unknown as Reason)).toBe('bare');
  });
});

describe('the entries of a program', () => {
  it('gives every entry whose logical program is the path, and none for another path', () => {
    const entryOf = entriesByProgram({ entries: [{ name: 'jq', logicalProgram: '/usr/bin/jq' }, { name: 'jq2', logicalProgram: '/usr/bin/jq' }, { name: 'sh', logicalProgram: '/bin/sh' }] as never });
    expect(entryOf('/usr/bin/jq')).toEqual(['jq', 'jq2']);
    expect(entryOf('/usr/bin/env')).toEqual([]);
  });
});
