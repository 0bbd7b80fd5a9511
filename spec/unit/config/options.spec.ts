// The option table (lib/config/options.ts): the files generated from it are current, sidebundle.json
// is checked against it, the executors pass on every option it gives them, and the CLI parses it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import { validateConfig } from '../../../lib/config/config';
import { EXECUTORS, type OptionSpec } from '../../../lib/config/option-spec';
import { CONFIG_OPTIONS, OPTIONS, executorOptions, type BundleConfig } from '../../../lib/config/options';
import { configSchema, createHelp, executorSchema, generatedFiles } from '../../../lib/config/options-render';
import { parseTableOptions } from '../../../lib/cli/options';
import { cliOptions } from '../../../lib/config/options';
import { bundleOptionsOf, normalizeOptions } from '../../../executors/shared/options';

const repo = path.resolve(__dirname, '../../..');
const base: BundleConfig = { name: 't', entries: ['/usr/bin/jq'] };

describe('generated files', () => {
  test.each(Object.keys(generatedFiles()))('%s is current (npm run gen:options regenerates it)', (file) => {
    expect(readFileSync(path.join(repo, file), 'utf8')).toBe(generatedFiles()[file]);
  });

  test('sidebundle.schema.json ships in the package', () => {
    expect(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).files).toContain('sidebundle.schema.json');
  });

  test('each executor schema holds exactly its options, closed, with the image entry form', () => {
    for (const executor of EXECUTORS) {
      const schema = executorSchema(executor) as { properties: Record<string, unknown>; additionalProperties: boolean };
      expect(Object.keys(schema.properties).sort()).toEqual(executorOptions(executor).map((o) => o.name).sort());
      expect(schema.additionalProperties).toBe(false);
    }
    expect(Object.keys((executorSchema('merge') as { properties: object }).properties)).not.toContain('traceBackend');
    expect(Object.keys((executorSchema('resolve') as { properties: object }).properties)).toEqual(expect.arrayContaining(['imageBackend', 'imageTraceBackend', 'imageAgentCli', 'allowSecret']));
    expect(Object.keys((executorSchema('trace') as { properties: object }).properties)).toEqual(expect.arrayContaining(['collect', 'collectBudget', 'allowSecret', 'allowTraceFailure', 'imageAgentBin']));
    expect(JSON.stringify(executorSchema('bundle'))).toContain('"required":["image","path"]');
  });

  test('an option in sidebundle.json has no schema default in an executor (it would override the file)', () => {
    for (const executor of EXECUTORS) {
      const { properties } = executorSchema(executor) as { properties: Record<string, { default?: unknown }> };
      for (const option of executorOptions(executor)) if (option.config) expect(properties[option.name]!.default).toBeUndefined();
    }
    const { properties } = configSchema() as { properties: Record<string, { default?: unknown }> };
    expect(properties.traceTimeout!.default).toBe(60);
  });

  test('the create help lists every flag the CLI parses', () => {
    const help = createHelp();
    for (const option of cliOptions()) expect(help).toContain(`${option.flag}`);
    expect(help).toMatch(/--collect-budget MIB +Size budget/);
  });
});

describe('validateConfig reads the table', () => {
  test('an unknown key is CONFIG_INVALID naming it and the closest known one', () => {
    expect(() => validateConfig({ ...base, traceTimout: 5 } as never, 'sidebundle.json')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/unknown option "traceTimout" \(did you mean traceTimeout\?\)/) }),
    );
    expect(() => validateConfig({ ...base, zzzqqq: 1 } as never, 'f')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.not.stringMatching(/did you mean/) }));
  });

  test('a CLI-only or executor-only option is not a sidebundle.json key', () => {
    for (const key of ['noCache', 'json', 'closureFile', 'imageAgentKeepOutput', 'config']) {
      expect(() => validateConfig({ ...base, [key]: 'x' } as never, 'f')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });

  test('"$schema" is allowed (editors)', () => {
    expect(validateConfig({ ...base, $schema: './node_modules/sidebundle/sidebundle.schema.json' } as never, 'f').name).toBe('t');
  });

  test.each([
    ['collectBudget', 'big', /"collectBudget" must be a positive number of MiB/],
    ['traceTimeout', -1, /"traceTimeout" must be a positive number of seconds/],
    ['allowSecret', 'key.pem', /"allowSecret" must be an array of strings/],
    ['allowTraceFailure', 'yes', /"allowTraceFailure" must be true or false/],
    ['collect', 'most', /collect "most" is not one of traced, smart, full/],
    ['imageTraceBackend', 'magic', /imageTraceBackend "magic" is not one of .*agent-combined/],
    ['setEnv', ['A=1'], /setEnv must be an object/],
    ['copyDirs', [{ src: 'x' }], /"copyDirs" must list/],
  ])('%s: %j is CONFIG_INVALID', (key, value, message) => {
    expect(() => validateConfig({ ...base, [key]: value } as never, 'f')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });

  test('an entry object with an unknown key names the closest one', () => {
    expect(() => validateConfig({ name: 't', entries: [{ host: '/usr/bin/jq', trcae: 'jq -n 1' }] } as never, 'f')).toThrow(expect.objectContaining({ code: 'CONFIG_BAD_ENTRY', message: expect.stringMatching(/did you mean trace\?/) }));
  });

  test('every option in the config schema is one validateConfig accepts', () => {
    const keys = Object.keys((configSchema() as { properties: object }).properties).filter((k) => k !== '$schema');
    expect(keys.sort()).toEqual(CONFIG_OPTIONS.map((o) => o.name).sort());
  });
});

describe('the executors pass on every option the table gives them', () => {
  const context = { root: '/ws', projectName: 'app', targetName: 't', projectsConfigurations: { version: 2, projects: { app: { root: 'apps/app' } } } } as unknown as ExecutorContext;
  const sample = (o: OptionSpec): unknown => {
    switch (o.kind.type) {
      case 'string': return 'x';
      case 'boolean': return true;
      case 'number': return 7;
      case 'enum': return o.kind.values.at(-1);
      case 'string[]': return ['p'];
      case 'object': return o.name === 'setEnv' ? { A: '1' } : o.name === 'copyDirs' ? ['./share:/opt/share'] : ['/usr/bin/jq'];
    }
  };
  const handledApart = new Set(['config', 'name', 'entries', 'cacheDir', 'closureFile', 'tracedFile', 'planFile']);

  test.each(EXECUTORS.map((e) => [e]))('%s', (executor) => {
    const options = Object.fromEntries(executorOptions(executor).filter((o) => o.name !== 'config').map((o) => [o.name, sample(o)]));
    const normalized = normalizeOptions(executor, { ...options, name: 't' } as never, context);
    const engine = bundleOptionsOf(normalized) as unknown as Record<string, unknown>;
    for (const option of executorOptions(executor)) {
      if (handledApart.has(option.name)) continue;
      const key = option.name === 'traceTimeout' ? 'traceTimeoutMs' : option.name;
      expect([option.name, engine[key]]).toEqual([option.name, expect.anything()]);
    }
    if (executor === 'trace') {
      expect(engine).toMatchObject({ collect: 'full', collectBudget: 7, allowTraceFailure: true, traceTimeoutMs: 7000, allowSecret: ['/ws/apps/app/p'], outDir: '/ws/x', imageAgentBin: '/ws/apps/app/x' });
    }
  });

  test('defaults come from the table, and an option the executor does not take is an error', () => {
    const o = normalizeOptions('trace', { name: 't', entries: ['/usr/bin/jq'] }, context);
    expect(o.engine).toMatchObject({ traceBackend: 'auto', traceTimeoutMs: 60_000, collect: 'smart', collectBudget: 64, outDir: '/ws/dist/bundles', allowTraceFailure: false });
    expect(() => normalizeOptions('merge', { name: 't', traceBackend: 'auto' } as never, context)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/unknown option "traceBackend"/) }));
    expect(normalizeOptions('package', { name: 't' }, context).entries).toEqual([]);
  });
});

describe('the CLI parses the table', () => {
  test('values arrive by option name, numbers and enumerations checked', () => {
    const values = parseTableOptions('create', ['--collect-budget', '8', '--collect', 'full', '--allow-secret', 'a', '--allow-secret', 'b', '--no-cache'], cliOptions());
    expect(values).toEqual({ collectBudget: 8, collect: 'full', allowSecret: ['a', 'b'], noCache: true });
    expect(() => parseTableOptions('create', ['--trace-timeout', 'soon'], cliOptions())).toThrow(expect.objectContaining({ code: 'BAD_OPTION', message: '--trace-timeout soon is not a positive number of seconds' }));
    expect(() => parseTableOptions('create', ['--run-mode', 'sideways'], cliOptions())).toThrow(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringMatching(/--run-mode sideways is not one of auto, host, ns, bwrap, chroot/) }));
  });

  test('one name per option: flags are the names in kebab case', () => {
    for (const o of OPTIONS as readonly OptionSpec[]) {
      if (o.flag && !['noCache', 'copyDirs'].includes(o.name)) expect(o.flag).toBe(`--${o.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    }
  });
});
