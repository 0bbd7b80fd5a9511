// The inferred targets for images out, without Nx: package declares the image layout, the archive
// and the report as outputs (configured ones and those given as options); push is inferred only
// where sidebundle.json names a registry, is never cached, and counts in the collision check.
import { sidebundleTargets, targetNamesFor, targetPrefixFor } from '../../plugins/plugin';

const jq = { name: 'jq', entries: ['/usr/bin/jq'] };

test('package declares the configured image layout and archive, the option forms and the report', () => {
  const targets = sidebundleTargets('apps/jq/sidebundle.json', { ...jq, emitOci: 'dist/images/jq', emitOciArchive: './dist/images/jq.tar' }, '/ws');
  expect(targets.package!.outputs).toEqual([
    '{workspaceRoot}/dist/bundles/jq',
    '{workspaceRoot}/dist/images/jq',
    '{workspaceRoot}/dist/images/jq.tar',
    '{options.emitOci}',
    '{options.emitOciArchive}',
    '{workspaceRoot}/dist/bundles/jq.report.html',
  ]);
});

test('an image path outside the workspace is not an output Nx could cache', () => {
  const targets = sidebundleTargets('apps/jq/sidebundle.json', { ...jq, emitOci: '/srv/images/jq', emitOciArchive: '../jq.tar' }, '/ws');
  expect(targets.package!.outputs).not.toContainEqual(expect.stringContaining('jq.tar'));
  expect(targets.package!.outputs).not.toContainEqual(expect.stringContaining('/srv'));
});

test('push: inferred only with a registry in sidebundle.json, uncached, after package', () => {
  expect(sidebundleTargets('apps/jq/sidebundle.json', jq, '/ws').push).toBeUndefined();
  const targets = sidebundleTargets('apps/jq/sidebundle.json', { ...jq, push: 'registry://localhost:5000/jq:1' }, '/ws', { targetPrefix: 'sb-' });
  expect(targets['sb-push']).toMatchObject({ executor: 'sidebundle:push', cache: false, dependsOn: ['sb-package'], options: { config: 'apps/jq/sidebundle.json' } });
  expect(targets['sb-push']!.outputs).toBeUndefined();
});

test('a project\'s own push target renames the inferred ones only when push is inferred', () => {
  expect(targetPrefixFor(['push'], '', targetNamesFor(jq))).toBe('');
  expect(targetPrefixFor(['push'], '', targetNamesFor({ ...jq, push: 'registry://r/jq' }))).toBe('sidebundle-');
});
