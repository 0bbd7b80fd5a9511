// The Nx executors around an injected tracer (the third parameter of sidebundle:trace, whose
// default is the native one): resolve a small shell-script project on the host, trace it with a
// tracer that reports what a run touched, merge. No native shim, no root, no Nx process.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import mergeExecutor from '../../../executors/merge/merge.impl';
import resolveExecutor from '../../../executors/resolve/resolve.impl';
import traceExecutor from '../../../executors/trace/trace.impl';
import type { TraceReport, TraceRequest } from '../../../lib/model/trace';
import { tempDir } from '../../helpers/tmp';

/** Outside the workspace and outside every rule of the trace policy: it goes into the lock. */
const HOST_FILE = '/etc/ld.so.conf';

function workspace() {
  const root = tempDir('sb-exec-');
  const project = path.join(root, 'apps/tool');
  mkdirSync(path.join(project, 'data'), { recursive: true });
  writeFileSync(path.join(project, 'tool.sh'), '#!/bin/sh\ncat "$(dirname "$0")/data/table.txt"\n');
  chmodSync(path.join(project, 'tool.sh'), 0o755);
  writeFileSync(path.join(project, 'data/table.txt'), 'a table the script reads\n');
  writeFileSync(path.join(project, 'sidebundle.json'), JSON.stringify({ name: 'tool', entries: [{ host: './tool.sh', trace: './tool.sh --selftest' }] }));
  const context = { root, cwd: root, isVerbose: false, projectName: 'tool', targetName: 'trace', projectsConfigurations: { version: 2, projects: { tool: { root: 'apps/tool' } } } } as unknown as ExecutorContext;
  const steps = path.join(root, 'dist/sidebundle/apps/tool/tool');
  return { root, project, context, options: { config: 'apps/tool/sidebundle.json' }, steps };
}

/** A tracer that answers every request with the files given, and remembers the requests. */
function tracer(files: Array<{ path: string; found?: boolean }>, exit: TraceReport['exit'] = { code: 0 }) {
  const requests: TraceRequest[] = [];
  const run = async (request: TraceRequest): Promise<TraceReport> => {
    requests.push(request);
    return {
      schema: 'sidebundle/trace@1', command: request.command, cwd: request.cwd ?? '/', root: request.root ?? '/', requestedBackend: request.backend, backend: 'ptrace',
      exit, timedOut: false, cancelled: false, durationMs: 1, warnings: [],
      files: files.map((f) => ({ path: f.path, ops: ['open'], found: f.found ?? true, seenBy: ['ptrace'] })),
    };
  };
  return { run, requests };
}

/** What the executor logged as errors (Nx's logger writes them to console.error). */
async function errorsOf<T>(body: () => Promise<T>): Promise<{ result: T; errors: string }> {
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const result = await body();
    return { result, errors: spy.mock.calls.map((c) => c.join(' ')).join('\n') };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(() => {
  if (!existsSync(HOST_FILE)) throw new Error(`${HOST_FILE} is missing: the test needs a host file outside the workspace`);
});

test('trace runs each entry command through the injected tracer; what it touched is added, and what lies outside the workspace is locked', async () => {
  const ws = workspace();
  expect(await resolveExecutor(ws.options, ws.context)).toEqual({ success: true });
  const table = path.join(ws.project, 'data/table.txt');
  const t = tracer([{ path: table }, { path: HOST_FILE }, { path: '/opt/never-there', found: false }]);
  expect(await traceExecutor(ws.options, ws.context, t.run)).toEqual({ success: true });

  expect(t.requests).toHaveLength(1);
  expect(t.requests[0]).toMatchObject({ command: ['./tool.sh', '--selftest'], cwd: ws.project, root: '/', backend: 'auto', timeoutMs: 60_000 });
  // Step outputs are portable: workspace paths are stored relative to {workspaceRoot}.
  const traced = readFileSync(path.join(ws.steps, 'traced.json'), 'utf8');
  expect(traced).not.toContain(ws.root);
  const added = (JSON.parse(traced) as { traced: Array<{ closure: { files: Array<{ path: string }> } }> }).traced[0]!.closure.files.map((f) => f.path);
  // The project's files go to a place that does not depend on the checkout (read from the workspace).
  expect(added).toEqual(expect.arrayContaining([HOST_FILE, '/opt/sidebundle/tool/data/table.txt']));
  expect(added).not.toContain('/opt/never-there'); // the run looked for it and found nothing
  // The lock lists what the run read outside the workspace, nothing inside it.
  const lock = JSON.parse(readFileSync(path.join(ws.project, 'sidebundle.lock'), 'utf8')) as { files: Record<string, unknown> };
  expect(Object.keys(lock.files)).toContain(HOST_FILE);
  expect(Object.keys(lock.files).filter((p) => p.startsWith(ws.root) || p.startsWith('{workspaceRoot}'))).toEqual([]);

  expect(await mergeExecutor(ws.options, ws.context)).toEqual({ success: true });
  const plan = JSON.parse(readFileSync(path.join(ws.steps, 'plan.json'), 'utf8').split('{workspaceRoot}').join(ws.root)) as { files: Array<{ path: string; source: string }>; launchers: Array<{ name: string }> };
  // The script's launcher, and one for each helper it runs (found by scanning the script).
  expect(plan.launchers.map((l) => l.name)).toEqual(['cat', 'dirname', 'tool.sh']); // dirname runs inside "$(...)"
  expect(plan.files.map((f) => f.source)).toEqual(expect.arrayContaining([table, HOST_FILE]));
});

test('a trace command that fails fails the task with its status, and writes no traced output', async () => {
  const ws = workspace();
  await resolveExecutor(ws.options, ws.context);
  const t = tracer([{ path: HOST_FILE }], { code: 3 });
  const failed = await errorsOf(() => traceExecutor(ws.options, ws.context, t.run));
  expect(failed.result).toEqual({ success: false });
  expect(failed.errors).toContain('(tool:trace): the trace command of tool.sh exited with status 3: ./tool.sh --selftest');
  expect(failed.errors).toMatch(/hint: .*--allow-trace-failure/);
  expect(t.requests).toHaveLength(1);
  expect(existsSync(path.join(ws.steps, 'traced.json'))).toBe(false);
  // allowTraceFailure keeps what the run touched
  expect(await traceExecutor({ ...ws.options, allowTraceFailure: true }, ws.context, t.run)).toEqual({ success: true });
  expect(readFileSync(path.join(ws.steps, 'traced.json'), 'utf8')).toContain(HOST_FILE);
});

test('trace before resolve fails the task and names the missing step output', async () => {
  const ws = workspace();
  const t = tracer([]);
  const failed = await errorsOf(() => traceExecutor(ws.options, ws.context, t.run));
  expect(failed.result).toEqual({ success: false });
  expect(failed.errors).toContain(`${path.join(ws.steps, 'closure.json')} does not exist`);
  expect(failed.errors).toContain('hint: run the resolve target first');
  expect(t.requests).toEqual([]);
});
