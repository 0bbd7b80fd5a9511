// The preamble of verify, diff, report and doctor: the common options, the operand count, --help.
import { PassThrough } from 'node:stream';

import { startCommand } from '../../../lib/cli/command';
import { Reporter } from '../../../lib/cli/reporter';

function reporters() {
  const made: Array<{ level: string | undefined; json: boolean; out: string[] }> = [];
  const reporterFor = (level: string | undefined, json: boolean) => {
    const out: string[] = [];
    const stdout = new PassThrough() as unknown as NodeJS.WriteStream;
    (stdout as unknown as PassThrough).on('data', (chunk: Buffer) => out.push(chunk.toString()));
    made.push({ level, json, out });
    return new Reporter((level ?? 'warn') as 'warn', json, new PassThrough() as unknown as NodeJS.WriteStream, stdout);
  };
  return { made, reporterFor };
}

const diff = { name: 'diff', help: 'Usage: sidebundle diff A B', operands: ['A', 'B'], options: { 'exit-code': { type: 'boolean' } } } as const;

it('gives the command its own options, the common three, the operands and the reporter they ask for', () => {
  const { made, reporterFor } = reporters();
  const start = startCommand({ ...diff, operands: [...diff.operands] }, ['a', '--exit-code', 'b', '--json', '--log-level', 'debug'], reporterFor);
  if (start.helped) throw new Error('not asked for help');
  expect(start.values['exit-code']).toBe(true);
  expect(start.operands).toEqual(['a', 'b']);
  expect(made.map(({ level, json }) => [level, json])).toEqual([['debug', true]]);
});

it('answers --help with the help (status 0), whatever the operands', async () => {
  const { made, reporterFor } = reporters();
  const start = startCommand({ ...diff, operands: [...diff.operands] }, ['-h'], reporterFor);
  expect(start.helped?.status).toBe(0);
  await new Promise((resolve) => setImmediate(resolve));
  expect(made[0]!.out.join('')).toBe('Usage: sidebundle diff A B\n');
});

it('refuses a wrong operand count and an unknown option as BAD_OPTION, naming the usage', () => {
  const { reporterFor } = reporters();
  expect(() => startCommand({ ...diff, operands: [...diff.operands] }, ['a'], reporterFor)).toThrow(expect.objectContaining({ code: 'BAD_OPTION', message: 'diff takes A B (1 given)', kind: 'input' }));
  expect(() => startCommand({ ...diff, operands: [...diff.operands] }, ['a', 'b', '--nope'], reporterFor)).toThrow(expect.objectContaining({ code: 'BAD_OPTION', hint: 'run sidebundle diff --help' }));
});

it('lets a [bracketed] operand be left out, not doubled', () => {
  const { reporterFor } = reporters();
  const doctor = { name: 'doctor', help: 'h', operands: ['[BUNDLE-DIR|PROGRAM]'], options: {} };
  expect(startCommand(doctor, [], reporterFor)).toMatchObject({ operands: [] });
  expect(startCommand(doctor, ['x'], reporterFor)).toMatchObject({ operands: ['x'] });
  expect(() => startCommand(doctor, ['x', 'y'], reporterFor)).toThrow('doctor takes [BUNDLE-DIR|PROGRAM] (2 given)');
});
