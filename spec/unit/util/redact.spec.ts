// Credentials on trace command lines are not recorded in manifest.lock.
import { REDACTED, redactedCommand } from '../../../lib/util/redact';

test.each([
  [['curl', '-u', 'me', '--password', 'hunter2', 'https://x'], `curl -u me --password ${REDACTED} https://x`],
  [['tool', '--token=abc123def'], `tool --token=${REDACTED}`],
  [['env', 'API_KEY=s3cr3t', 'tool'], `env API_KEY=${REDACTED} tool`],
  [['git', 'clone', 'https://user:pa55@example.com/r.git'], `git clone https://user:${REDACTED}@example.com/r.git`],
  [['curl', '-H', 'Authorization: Bearer abcdefghijkl'], `curl -H Authorization:${REDACTED}`],
  [['gh', 'ghp_abcdefghijklmnopqrstuvwxyz0123'], `gh ${REDACTED}`],
  [['aws', 'AKIAABCDEFGHIJKLMNOP'], `aws ${REDACTED}`],
])('%j is recorded as %j', (argv, recorded) => {
  expect(redactedCommand(argv)).toBe(recorded);
});

test('ordinary commands are kept as they are', () => {
  const argv = ['python3', '-c', 'import ssl, json; print(json.dumps({"a": 1}))', '--verbose', 'key=value', '--session-dir'];
  expect(redactedCommand(argv)).toBe(argv.join(' '));
});
