// One HTTP exchange with a registry, bounded in time: the connection must open within the
// connect timeout and the registry may not stay silent longer than the idle timeout (waiting for
// headers, between body bytes, and while it takes an upload). An abort of the caller's signal
// ends it with the signal's reason (the CLI's INTERRUPTED), never a bare AbortError.
// HTTP(S)_PROXY / NO_PROXY are honoured: plain http through the proxy, https through CONNECT.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { Readable, Transform } from 'node:stream';
import * as tls from 'node:tls';

import { SidebundleError } from '../errors';
import { deferredCaCerts } from '../util/extra-ca-certs';
import { timeoutError, type RegistryTimeouts } from './registry-timeouts';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Readable;
}

export interface Exchange {
  method?: string;
  headers: Record<string, string>;
  /** A request body (an upload); its size goes in content-length when it is a Buffer. */
  body?: Buffer | Readable;
  /** Names the exchange in a timeout error ("blob sha256:…"). */
  what: string;
}

export interface ExchangeContext {
  timeouts: RegistryTimeouts;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** What an abort ends with: the reason the caller gave, when it is one of ours. */
export function interruption(signal: AbortSignal): SidebundleError {
  const reason: unknown = signal.reason;
  if (reason instanceof SidebundleError) return reason;
  return new SidebundleError('INTERRUPTED', 'interrupted', { hint: 'nothing was published', cause: reason });
}

let deferredTrust: { context: tls.SecureContext | undefined } | undefined;

/**
 * The TLS context of https exchanges when the `sidebundle` command kept NODE_EXTRA_CA_CERTS from
 * Node's start-up (scripts/bundle-cli.js says why): Node's default store with that file's
 * certificates added, as Node itself would have trusted them, built once per process.
 * Otherwise undefined: Node's default. A file that cannot be read or parsed is a warning, as it
 * is from Node, and is then left out.
 */
function secureContext(): tls.SecureContext | undefined {
  const deferred = deferredCaCerts();
  if (deferred === undefined) return undefined;
  if (deferredTrust === undefined) {
    try {
      deferredTrust = { context: withCertificates(readFileSync(deferred.file, 'latin1')) };
    } catch (error) {
      process.emitWarning(`Ignoring extra certs from \`${deferred.given}\`, load failed: ${(error as Error).message}`);
      deferredTrust = { context: undefined };
    }
  }
  return deferredTrust.context;
}

/** A context trusting Node's default store and the certificates in `pem`. The default store is
 * Node's bundled roots, OpenSSL's store (--use-openssl-ca, or a Node built to use it, as
 * Fedora's and Homebrew's are) or the system's (--use-system-ca): `ca` would replace it, so
 * the certificates are added to a copy of it. Node 22.15+ names it (tls.getCACertificates);
 * before, a default context's store is copied when a certificate is added to it, which is how
 * packages such as syswide-cas extend it. */
function withCertificates(pem: string): tls.SecureContext {
  const { getCACertificates } = tls as { getCACertificates?: (type: 'default') => string[] };
  if (typeof getCACertificates === 'function') return tls.createSecureContext({ ca: [...getCACertificates('default'), pem] });
  const context = tls.createSecureContext() as tls.SecureContext & { context?: { addCACert?: (pem: string) => void } };
  if (typeof context.context?.addCACert !== 'function') return tls.createSecureContext({ ca: [...tls.rootCertificates, pem] });
  context.context.addCACert(pem);
  return context;
}

/** The proxy for a URL per HTTP(S)_PROXY and NO_PROXY, if any. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const host = url.hostname;
  if (noProxy.some((entry) => entry === '*' || host === entry || host.endsWith(entry.startsWith('.') ? entry : `.${entry}`))) return undefined;
  const value = url.protocol === 'https:' ? env.HTTPS_PROXY ?? env.https_proxy : env.HTTP_PROXY ?? env.http_proxy;
  return value ? new URL(value) : undefined;
}

/** A timer that can be re-armed with another duration; fires `onFire` with the phase it was in. */
function watchdog(onFire: (phase: 'connect' | 'idle', ms: number) => void) {
  let timer: NodeJS.Timeout | undefined;
  return {
    arm(phase: 'connect' | 'idle', ms: number) {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => onFire(phase, ms), ms);
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

export function exchange(url: URL, ask: Exchange, context: ExchangeContext): Promise<Response> {
  return new Promise((resolve, reject) => {
    if (context.signal?.aborted) {
      reject(interruption(context.signal));
      return;
    }
    const guard = new ExchangeGuard(url, ask.what, context, reject);
    const onResponse = (res: http.IncomingMessage) => {
      if (!guard.settled) resolve(guard.respond(res));
    };
    const send = (req: http.ClientRequest) => sendBody(req, ask.body, guard);
    const headers: Record<string, string> = { 'user-agent': 'sidebundle', ...ask.headers };
    if (Buffer.isBuffer(ask.body)) headers['content-length'] = String(ask.body.length);
    const method = ask.method ?? 'GET';
    const proxy = proxyFor(url, context.env);
    if (proxy && url.protocol === 'http:') {
      // Plain http through a proxy: the request line carries the absolute URL.
      send(guard.watch(http.request({ host: proxy.hostname, port: proxy.port || 80, method, path: url.href, headers: { ...headers, host: url.host } }, onResponse), false));
    } else if (proxy) {
      // https through a proxy: a CONNECT tunnel, then TLS to the registry inside it.
      guard.watch(http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${url.hostname}:${url.port || 443}` }), false)
        .on('connect', (res, socket) => {
          if (res.statusCode !== 200) {
            guard.fail(new Error(`proxy ${proxy.host} refused the tunnel (${res.statusCode})`));
            return;
          }
          const context = secureContext();
          // `host` is what the certificate must name; over a socket already open, only
          // `servername` sends SNI, which names hosts only (RFC 6066: Node deprecates an IP there).
          const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
          const secure = tls.connect({ socket, host, ...(isIP(host) === 0 ? { servername: host } : {}), ...(context ? { secureContext: context } : {}) });
          send(guard.watch(https.request(url, { method, headers, createConnection: () => secure } as https.RequestOptions, onResponse), true));
        })
        .end();
    } else {
      const secure = url.protocol === 'https:';
      const context = secure ? secureContext() : undefined;
      send(guard.watch((secure ? https : http).request(url, { method, headers, ...(context ? { secureContext: context } : {}) }, onResponse), secure));
    }
  });
}

/**
 * The timeouts and the abort of one exchange, and its single outcome: until the response
 * arrives a failure rejects the exchange; after it, a failure ends the response body with it.
 */
class ExchangeGuard {
  /** The exchange has resolved or rejected; later events only end the body. */
  settled = false;
  private readonly requests: http.ClientRequest[] = [];
  private body: Transform | undefined;
  private readonly dog: ReturnType<typeof watchdog>;

  constructor(url: URL, what: string, private readonly context: ExchangeContext, private readonly reject: (error: unknown) => void) {
    this.dog = watchdog((phase, ms) => this.fail(timeoutError(url.host, phase, ms, what)));
    context.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.dog.arm('connect', context.timeouts.connectMs);
  }

  readonly fail = (error: unknown): void => {
    this.dog.stop();
    this.context.signal?.removeEventListener('abort', this.onAbort);
    for (const r of this.requests) r.destroy();
    if (this.body) this.body.destroy(error as Error);
    else if (!this.settled) this.reject(error);
    this.settled = true;
  };

  /** The registry said something: the idle timeout starts again. */
  readonly idle = (): void => this.dog.arm('idle', this.context.timeouts.idleMs);

  private readonly onAbort = (): void => this.fail(interruption(this.context.signal!));

  /** A request under the connect timeout until its socket connects, then the idle timeout. */
  watch(req: http.ClientRequest, secure: boolean): http.ClientRequest {
    this.requests.push(req);
    req.on('error', this.fail);
    req.on('socket', (socket) => {
      if (!socket.connecting) return this.idle();
      this.dog.arm('connect', this.context.timeouts.connectMs);
      socket.once(secure ? 'secureConnect' : 'connect', this.idle);
    });
    return req;
  }

  /** The response, its body passed on through a stream that re-arms the idle timeout. */
  respond(res: http.IncomingMessage): Response {
    this.idle();
    const idle = this.idle;
    const body = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        idle();
        callback(null, chunk);
      },
    });
    this.body = body;
    body.on('close', () => {
      this.dog.stop();
      this.context.signal?.removeEventListener('abort', this.onAbort);
      res.destroy();
    });
    res.on('error', (error) => this.fail(error));
    res.on('end', () => this.dog.stop());
    res.pipe(body);
    this.settled = true;
    return { status: res.statusCode ?? 0, headers: res.headers, body };
  }
}

/** The request's body, if any: a Buffer at once, a stream metered (each chunk the socket takes
 * is progress: the registry is silent while it receives). */
function sendBody(req: http.ClientRequest, body: Exchange['body'], guard: ExchangeGuard): void {
  if (body === undefined) req.end();
  else if (Buffer.isBuffer(body)) req.end(body);
  else {
    const metered = new Transform({ transform: (chunk, _e, callback) => { guard.idle(); callback(null, chunk); } });
    body.on('error', guard.fail);
    body.pipe(metered).pipe(req);
  }
}
