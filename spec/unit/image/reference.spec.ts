// Image references as container users spell them, and back: describeSource(parse(x)) is x for
// every canonical spelling, so a reference in a manifest reads as the user wrote it.
import { describeSource, isDigest, parseImageReference } from '../../../lib/image/reference';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  test.each([
    ['debian:12', { kind: 'engine', engine: 'auto', image: 'debian:12' }],
    ['docker://debian:12', { kind: 'engine', engine: 'docker', image: 'debian:12' }],
    ['podman://quay.io/org/img@' + DIGEST, { kind: 'engine', engine: 'podman', image: 'quay.io/org/img@' + DIGEST }],
    ['oci:./layout', { kind: 'oci', dir: './layout' }],
    ['oci:./layout:app:1.0', { kind: 'oci', dir: './layout', ref: 'app:1.0' }],
    ['oci-archive:img.tar:v2', { kind: 'oci-archive', file: 'img.tar', ref: 'v2' }],
    ['docker-archive:/tmp/saved.tar', { kind: 'docker-archive', file: '/tmp/saved.tar' }],
    ['registry://localhost:5000/team/app:1.2', { kind: 'registry', registry: 'localhost:5000', repository: 'team/app', tag: '1.2' }],
    ['registry://ghcr.io/app@' + DIGEST, { kind: 'registry', registry: 'ghcr.io', repository: 'app', digest: DIGEST }],
  ])('%s', (text, source) => {
    expect(parseImageReference(text)).toEqual(source);
  });

  test('a registry reference without a tag or digest means :latest', () => {
    expect(parseImageReference('registry://localhost:5000/app')).toEqual({ kind: 'registry', registry: 'localhost:5000', repository: 'app', tag: 'latest' });
  });

  test.each([
    ['', /is empty or contains blanks/],
    ['debian 12', /is empty or contains blanks/],
    ['docker://', /names no image/],
    ['registry://app', /needs HOST\/REPOSITORY/],
    ['registry://host/App', /invalid repository name "App"/],
    ['registry://host/app:-bad', /invalid tag "-bad"/],
    ['registry://host/app@sha256:abc', /malformed digest/],
    ['oci:', /names no path/],
    ['ftp://host/img', /unknown scheme/],
  ])('%j is bad input with a hint listing the spellings', (text, message) => {
    expect(() => parseImageReference(text)).toThrow(
      expect.objectContaining({ code: 'BAD_IMAGE_REFERENCE', kind: 'input', input: text, message: expect.stringMatching(message), hint: expect.stringContaining('registry://HOST/REPO') }),
    );
  });
});

test.each(['debian:12', 'docker://debian:12', 'oci:./l:app:1', 'oci-archive:i.tar', 'docker-archive:s.tar:x', 'registry://h:5000/a/b:t', `registry://h/a@${DIGEST}`])(
  'describeSource gives back %s',
  (text) => expect(describeSource(parseImageReference(text))).toBe(text),
);

test('isDigest wants sha256: and exactly 64 lower-case hex digits', () => {
  expect(isDigest(DIGEST)).toBe(true);
  expect(isDigest(DIGEST.toUpperCase())).toBe(false);
  expect(isDigest(DIGEST.slice(0, -1))).toBe(false);
  expect(isDigest(`sha512:${'ab'.repeat(32)}`)).toBe(false);
});
