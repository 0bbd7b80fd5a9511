// Jar manifests as java.util.jar.Manifest reads them.
import { classPathOf, manifestAttributes } from '../../../lib/collect/jar-manifest';

test('continuation lines join, names are case-insensitive, the main section ends at a blank line', () => {
  const text = 'Manifest-Version: 1.0\r\nClass-Path: lib/a.jar lib/very-lo\r\n ng.jar\r\nmain-class: Main\r\n\r\nName: x/\r\nClass-Path: ignored.jar\r\n';
  const attributes = manifestAttributes(text);
  expect(attributes.get('class-path')).toBe('lib/a.jar lib/very-long.jar');
  expect(attributes.get('main-class')).toBe('Main');
});

test('Class-Path URLs are relative to the jar, decoded; directories and file: URLs kept, other schemes left out', () => {
  expect(classPathOf('/srv/app/app.jar', 'lib/a.jar  ../shared/b%20c.jar classes/ file:/opt/x.jar http://example.com/y.jar')).toEqual([
    '/srv/app/lib/a.jar', '/srv/shared/b c.jar', '/srv/app/classes', '/opt/x.jar',
  ]);
});
