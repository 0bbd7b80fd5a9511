// A client for registries speaking the OCI Distribution spec: manifests with the Accept
// headers for OCI and Docker manifests and indexes, blobs (following redirects, without the
// Authorization header when a redirect leaves the registry's host), anonymous, Basic (from
// ~/.docker/config.json or $REGISTRY_AUTH_FILE) and Bearer-token auth (the WWW-Authenticate
// challenge), retries with backoff on 5xx and connection errors, size caps, and HTTP(S)_PROXY /
// NO_PROXY. Plain http only for loopback, or when asked (`insecure`). Pushes: blobs (POST, then
// one monolithic PUT) and manifests, with the same auth (a push scope for tokens).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import { SidebundleError } from '../errors';
import { ACCEPT, type Descriptor } from './manifest';
import { exchange, interruption, type Exchange, type Response } from './registry-http';
import { registryTimeouts, type RegistryTimeouts } from './registry-timeouts';

const MAX_MANIFEST = 4 * 1024 * 1024;
const RETRIES = 3;

export interface RegistryOptions {
  /** Allow plain http to a non-loopback registry. */
  insecure?: boolean;
  signal?: AbortSignal;
  /** Milliseconds between retries (doubled each time). */
  backoffMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Over the defaults and SIDEBUNDLE_REGISTRY_TIMEOUTS (see registry-timeouts.ts). */
  timeouts?: Partial<RegistryTimeouts>;
}

export class RegistryClient {
  private token: string | undefined;
  private readonly basic: string | undefined;
  private readonly timeouts: RegistryTimeouts;
  readonly base: URL;

  constructor(readonly registry: string, readonly repository: string, private readonly options: RegistryOptions = {}) {
    const host = registry.replace(/:\d+$/, '');
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(host);
    this.base = new URL(`${loopback || options.insecure ? 'http' : 'https'}://${registry}`);
    this.basic = basicCredentials(registry, options.env ?? process.env);
    this.timeouts = registryTimeouts(options.timeouts, options.env ?? process.env);
  }

  /** The manifest (or index) for a tag or digest, with its digest. */
  async manifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const res = await this.get(`/v2/${this.repository}/manifests/${reference}`, { accept: ACCEPT }, `manifest ${reference}`);
    const bytes = await readAll(res.body, MAX_MANIFEST, `the manifest of ${this.label(reference)}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new SidebundleError('IMAGE_DIGEST_MISMATCH', `the manifest served for ${this.label(reference)} hashes to ${digest}`, {
        input: this.label(reference),
        hint: 'the registry served something else than what was asked for; do not trust it',
      });
    }
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  /** A blob's bytes (the caller verifies them against the descriptor). */
  async blob(descriptor: Descriptor): Promise<Readable> {
    return (await this.get(`/v2/${this.repository}/blobs/${descriptor.digest}`, {}, `blob ${descriptor.digest}`)).body;
  }

  label(reference: string): string {
    return `registry://${this.registry}/${this.repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  }

  /** Is this blob in the repository already (HEAD)? */
  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.call({ method: 'HEAD', pathname: `/v2/${this.repository}/blobs/${digest}`, what: `blob ${digest}`, ok: [200, 404] });
    res.body.resume();
    return res.status === 200;
  }

  /**
   * Upload a blob unless the registry has it: POST for an upload URL, then one monolithic PUT
   * with the digest. `open` is called for each attempt (an auth challenge or a 5xx means the body
   * is sent again), so a big blob streams from disk each time rather than sitting in memory.
   */
  async pushBlob(descriptor: Descriptor, open: () => Readable | Buffer): Promise<'exists' | 'pushed'> {
    if (await this.hasBlob(descriptor.digest)) return 'exists';
    const what = `the upload of blob ${descriptor.digest}`;
    const started = await this.call({ method: 'POST', pathname: `/v2/${this.repository}/blobs/uploads/`, what, ok: [202], push: true });
    started.body.resume();
    const location = started.headers.location;
    if (!location) throw new SidebundleError('IMAGE_REGISTRY_ERROR', `${this.base.host} started ${what} without a Location`, { input: this.base.host, hint: 'the registry does not speak the OCI distribution API' });
    const url = new URL(location, this.base);
    url.searchParams.set('digest', descriptor.digest);
    const done = await this.call({
      method: 'PUT',
      pathname: url.pathname + url.search,
      base: url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
      body: open,
      what,
      ok: [201, 204],
      push: true,
    });
    done.body.resume();
    return 'pushed';
  }

  /** Put a manifest under a tag (or its digest). */
  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<void> {
    const res = await this.call({ method: 'PUT', pathname: `/v2/${this.repository}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: () => bytes, what: `the manifest ${reference}`, ok: [201, 204], push: true });
    res.body.resume();
  }

  private get(pathname: string, headers: Record<string, string>, what: string): Promise<Response> {
    return this.call({ pathname, headers, what, ok: [200] });
  }

  private async call(ask: { method?: string; pathname: string; base?: URL; headers?: Record<string, string>; body?: () => Readable | Buffer; what: string; ok: number[]; push?: boolean }): Promise<Response> {
    const { what, headers = {} } = ask;
    let url = ask.base ?? new URL(ask.pathname, this.base);
    let authHost = url.host;
    for (let attempt = 0, redirects = 0, authenticated = false; ; ) {
      const auth = url.host === authHost ? this.authorization() : undefined;
      let res: Response;
      try {
        res = await this.send(url, { ...(ask.method ? { method: ask.method } : {}), headers: { ...headers, ...(auth ? { authorization: auth } : {}) }, ...(ask.body ? { body: ask.body() } : {}), what });
      } catch (error) {
        if (this.options.signal?.aborted) throw interruption(this.options.signal);
        // A stall already cost the user the whole timeout: say so rather than wait again.
        if (error instanceof SidebundleError) throw error;
        if (++attempt < RETRIES) {
          await this.backoff(attempt);
          continue;
        }
        throw new SidebundleError('IMAGE_REGISTRY_UNREACHABLE', `cannot reach ${this.base.host} for ${what}: ${(error as Error).message}`, {
          input: this.base.host,
          hint: 'check the registry address, your network and HTTPS_PROXY/NO_PROXY',
        });
      }
      if (res.status >= 300 && res.status < 400 && res.headers.location && !ask.ok.includes(res.status)) {
        res.body.resume();
        if (++redirects > 5) throw new SidebundleError('IMAGE_REGISTRY_ERROR', `too many redirects fetching ${what}`, { input: url.href });
        url = new URL(res.headers.location, url);
        continue;
      }
      if (res.status === 401 && !authenticated) {
        res.body.resume();
        authenticated = true;
        await this.authenticate(String(res.headers['www-authenticate'] ?? ''), what, ask.push === true);
        authHost = url.host;
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        res.body.resume();
        if (++attempt < RETRIES) {
          await this.backoff(attempt);
          continue;
        }
      }
      if (ask.ok.includes(res.status)) return res;
      res.body.resume();
      throw this.httpError(res.status, what);
    }
  }

  private httpError(status: number, what: string): SidebundleError {
    const where = `${this.base.host}/${this.repository}`;
    if (status === 401 || status === 403) {
      return new SidebundleError('IMAGE_REGISTRY_DENIED', `${where} refused access to ${what} (HTTP ${status})`, {
        input: where,
        kind: 'input',
        hint: 'log in (credentials in ~/.docker/config.json or $REGISTRY_AUTH_FILE), or check the repository name',
      });
    }
    if (status === 404) {
      return new SidebundleError('IMAGE_NOT_FOUND', `${where}: ${what} not found (HTTP 404)`, {
        input: where,
        kind: 'input',
        hint: 'check the repository, tag or digest',
      });
    }
    return new SidebundleError('IMAGE_REGISTRY_ERROR', `${where} answered HTTP ${status} for ${what}`, {
      input: where,
      hint: status >= 500 ? 'the registry is failing; try again later' : 'check the reference',
    });
  }

  private authorization(): string | undefined {
    if (this.token) return `Bearer ${this.token}`;
    if (this.basic) return `Basic ${this.basic}`;
    return undefined;
  }

  /** Answer a WWW-Authenticate challenge: Bearer (fetch a token) or Basic (use credentials). */
  private async authenticate(challenge: string, what: string, push: boolean): Promise<void> {
    const scheme = challenge.split(' ')[0]?.toLowerCase();
    if (scheme === 'basic') {
      if (!this.basic) throw this.httpError(401, what);
      return;
    }
    if (scheme !== 'bearer') throw this.httpError(401, what);
    const params = Object.fromEntries([...challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) throw this.httpError(401, what);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', params.scope ?? `repository:${this.repository}:${push ? 'pull,push' : 'pull'}`);
    const res = await this.send(tokenUrl, { headers: this.basic ? { authorization: `Basic ${this.basic}` } : {}, what: `a token for ${what}` });
    if (res.status !== 200) {
      res.body.resume();
      throw this.httpError(res.status === 404 ? 401 : res.status, `a token for ${what}`);
    }
    const body = JSON.parse((await readAll(res.body, 1024 * 1024, 'the token response')).toString('utf8')) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token;
    if (!this.token) throw this.httpError(401, what);
  }

  private send(url: URL, ask: Exchange): Promise<Response> {
    return exchange(url, ask, { timeouts: this.timeouts, ...(this.options.signal ? { signal: this.options.signal } : {}), ...(this.options.env ? { env: this.options.env } : {}) });
  }

  private backoff(attempt: number): Promise<void> {
    const ms = (this.options.backoffMs ?? 200) * 2 ** (attempt - 1);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Credentials for a registry from a docker-style config.json ("auths": {host: {auth}}). */
function basicCredentials(registry: string, env: NodeJS.ProcessEnv): string | undefined {
  const files = [env.REGISTRY_AUTH_FILE, path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json')].filter((f): f is string => !!f);
  for (const file of files) {
    try {
      const auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
      const hit = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
      if (hit?.auth) return hit.auth;
    } catch {
      // no such file, or not JSON: no credentials from it
    }
  }
  return undefined;
}

async function readAll(stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new SidebundleError('IMAGE_TOO_LARGE', `${what} is larger than ${max} bytes`, { hint: 'the registry answered something unexpected' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
