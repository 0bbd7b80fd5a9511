// A real registry on loopback (Debian's docker-registry, the CNCF distribution server), fed with
// skopeo, and a small proxy in front of it that counts requests and injects faults: HTTP 500s,
// a flipped byte in a blob, a Bearer-token challenge, and forward-proxy requests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface Registry {
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `tls`: serve https with this certificate and key; `address`: listen there (default 127.0.0.1). */
export async function startRegistry(dir: string, options: { address?: string; tls?: { certificate: string; key: string } } = {}): Promise<Registry> {
  const port = await freePort();
  const address = options.address ?? '127.0.0.1';
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    'http:',
    `  addr: ${address}:${port}`,
    ...(options.tls ? ['  tls:', `    certificate: ${options.tls.certificate}`, `    key: ${options.tls.key}`] : []),
    '',
  ].join('\n'));
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `${address}:${port}`;
  const get = options.tls ? (url: string, done: (res: http.IncomingMessage) => void) => https.get(url, { rejectUnauthorized: false }, done) : http.get;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => get(`${options.tls ? 'https' : 'http'}://${host}/v2/`, (res) => { res.resume(); resolve(res.statusCode === 200); }).on('error', () => resolve(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

export function push(layoutRef: string, registry: string, target: string): void {
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', layoutRef, `docker://${registry}/${target}`], { stdio: 'ignore' });
}

export interface ProxyControls {
  host: string;
  requests: string[];
  /** Answer the next `count` requests whose path matches with `status`. */
  failNext(pattern: RegExp, count: number, status: number): void;
  /** Flip one byte in the body of the next response whose path matches. */
  corruptNext(pattern: RegExp): void;
  /** Require `Authorization: Bearer <token>`, handing it out at /token. */
  requireToken(token: string | undefined): void;
  /** Forget pending failures and corruptions. */
  reset(): void;
  close(): Promise<void>;
}

export async function startProxy(upstream: string): Promise<ProxyControls> {
  const requests: string[] = [];
  const failures: Array<{ pattern: RegExp; count: number; status: number }> = [];
  const corruptions: RegExp[] = [];
  let token: string | undefined;
  let port = 0;
  const server = http.createServer((req, res) => {
    // Forward-proxy requests carry an absolute URL; reverse-proxy ones a path.
    const forward = req.url!.startsWith('http://');
    const url = new URL(req.url!, `http://${upstream}`);
    requests.push(`${req.method} ${forward ? 'proxy ' : ''}${url.pathname}`);
    if (url.pathname === '/token') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token }));
      return;
    }
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${port}/token",service="sidebundle-test",scope="repository:test/bullseye:pull"`);
      res.end();
      return;
    }
    const failure = failures.find((f) => f.count > 0 && f.pattern.test(url.pathname));
    if (failure) {
      failure.count -= 1;
      res.statusCode = failure.status;
      res.end('injected failure');
      return;
    }
    const corrupt = corruptions.findIndex((p) => p.test(url.pathname));
    if (corrupt !== -1) corruptions.splice(corrupt, 1);
    const headers = { ...req.headers, host: upstream };
    delete headers.authorization;
    const upstreamReq = http.request({ host: upstream.split(':')[0], port: Number(upstream.split(':')[1]), method: req.method, path: url.pathname + url.search, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let flipped = corrupt === -1;
      up.on('data', (chunk: Buffer) => {
        if (!flipped && chunk.length > 100) {
          chunk[100] = chunk[100]! ^ 0xff;
          flipped = true;
        }
        res.write(chunk);
      });
      up.on('end', () => res.end());
    });
    upstreamReq.on('error', () => { res.statusCode = 502; res.end(); });
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    failNext: (pattern, count, status) => failures.push({ pattern, count, status }),
    corruptNext: (pattern) => corruptions.push(pattern),
    requireToken: (value) => { token = value; },
    reset: () => { failures.length = 0; corruptions.length = 0; },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
