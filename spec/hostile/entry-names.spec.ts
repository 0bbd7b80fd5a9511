// Hostile entry names and launcher variables: refused at parse time with BAD_ENTRY_NAME (exit 2),
// nothing written anywhere, inside or outside the out dir.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { readConfigFile } from '../../lib/config/config';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

/** Every path under `dir`, for before/after comparisons. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('a hostile ::name= is refused before anything is written', () => {
  const names = ['../../../x/evil', '..', '.', '../runtime/sidebundle-run', 'a/b', 'bad\nname', 'x'.repeat(300), ''];
  for (const runMode of ['host', 'auto']) {
    test.each(names)(`--run-mode ${runMode}, name=%j`, (name) => {
      const base = tempDir('sb-names-');
      const work = path.join(base, 'a', 'b', 'c');
      mkdirSync(work, { recursive: true });
      writeFileSync(path.join(base, 'canary'), 'keep');
      const before = tree(base);
      const r = runCli(['create', '--name', 'n', '--run-mode', runMode, '--out-dir', 'out', '--no-cache', '--from-host', `/usr/bin/true::name=${name}`], { cwd: work });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('error[BAD_ENTRY_NAME]');
      expect(r.stderr).toContain('hint: ');
      expect(tree(base)).toEqual(before);
    });
  }
});

test('a good ::name= still names the launcher', () => {
  const out = path.join(tempDir('sb-names-'), 'out');
  const r = runCli(['create', '--name', 'n', '--out-dir', out, '--no-cache', '--from-host', '/usr/bin/true::name=yes-it-is']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(readdirSync(path.join(out, 'n', 'bin'))).toEqual(['yes-it-is']);
});

describe('sidebundle.json goes through the same checks', () => {
  function config(body: unknown): string {
    const file = path.join(tempDir('sb-names-'), 'sidebundle.json');
    writeFileSync(file, JSON.stringify(body));
    return file;
  }

  test.each(['../../evil', '..', 'a\nb'])('entries[].name %j', (name) => {
    const file = config({ name: 'n', entries: [{ host: '/usr/bin/true', name }] });
    expect(() => readConfigFile(file)).toThrow(expect.objectContaining({ code: 'BAD_ENTRY_NAME', kind: 'input' }));
  });

  test('a name that is not a string', () => {
    const file = config({ name: 'n', entries: [{ host: '/usr/bin/true', name: 5 }] });
    expect(() => readConfigFile(file)).toThrow(expect.objectContaining({ code: 'CONFIG_BAD_ENTRY' }));
  });

  test('a string entry spec with ::name=', () => {
    const file = config({ name: 'n', entries: ['/usr/bin/true::name=../x'] });
    expect(() => readConfigFile(file)).toThrow(expect.objectContaining({ code: 'BAD_ENTRY_NAME' }));
  });

  test('a setEnv key that would be code in a host-mode launcher', () => {
    const file = config({ name: 'n', entries: ['/usr/bin/true'], setEnv: { 'A=1;touch /tmp/pwned;B': 'x' } });
    expect(() => readConfigFile(file)).toThrow(expect.objectContaining({ code: 'BAD_ENV_NAME' }));
  });
});
