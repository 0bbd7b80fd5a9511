// The agent's spec carries sidebundle's defaults, and the agent's own fallbacks (for a spec
// written by hand) say the same: two places that must agree, compared here.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { DEFAULT_TRACE_ENV, DEFAULT_TRACE_TIMEOUT_MS } from '../../../lib/model/trace';
import { agentSpec } from '../../../lib/trace/agent';

const agentSource = readFileSync(path.join(__dirname, '../../../native/src/bin/agent.rs'), 'utf8');

test('a request without env or timeout is sent with the defaults; one with them keeps its own', () => {
  expect(agentSpec({ command: ['true'], backend: 'ptrace' }, '/').commands[0]).toEqual({ command: ['true'], cwd: '/', env: DEFAULT_TRACE_ENV, timeoutMs: DEFAULT_TRACE_TIMEOUT_MS });
  expect(agentSpec({ command: ['true'], backend: 'ptrace', env: { PATH: '/x' }, timeoutMs: 5 }, '/w').commands[0]).toMatchObject({ env: { PATH: '/x' }, timeoutMs: 5 });
});

test("the agent's fallback environment is DEFAULT_TRACE_ENV", () => {
  const block = /const DEFAULT_ENV: \[\(&str, &str\); \d+\] = \[([^\]]*)\];/.exec(agentSource);
  expect(block).not.toBeNull();
  const pairs = Object.fromEntries([...block![1]!.matchAll(/\("([^"]*)", "([^"]*)"\)/g)].map((m) => [m[1], m[2]]));
  expect(pairs).toEqual(DEFAULT_TRACE_ENV);
});

test("the agent's fallback timeout is DEFAULT_TRACE_TIMEOUT_MS", () => {
  const timeout = /const DEFAULT_TIMEOUT_MS: f64 = ([\d_.]+);/.exec(agentSource);
  expect(timeout).not.toBeNull();
  expect(Number(timeout![1]!.replace(/_/g, ''))).toBe(DEFAULT_TRACE_TIMEOUT_MS);
});
