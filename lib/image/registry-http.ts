// One HTTP exchange with a registry, bounded in time: the connection must open within the
// connect timeout and the registry may not stay silent longer than the idle timeout (waiting for
// headers, between body bytes, and while it takes an upload). An abort of the caller's signal
// ends it with the signal's reason (the CLI's INTERRUPTED), never a bare AbortError.
// HTTP(S)_PROXY / NO_PROXY are honoured: plain http through the proxy, https through CONNECT.
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable, Transform } from 'node:stream';
import * as tls from 'node:tls';

import { SidebundleError } from '../errors';
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
  const { timeouts, signal } = context;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(interruption(signal));
      return;
    }
    const requests: http.ClientRequest[] = [];
    let body: Transform | undefined;
    let done = false;
    const fail = (error: unknown) => {
      dog.stop();
      signal?.removeEventListener('abort', onAbort);
      for (const r of requests) r.destroy();
      if (body) body.destroy(error as Error);
      else if (!done) reject(error);
      done = true;
    };
    const dog = watchdog((phase, ms) => fail(timeoutError(url.host, phase, ms, ask.what)));
    const onAbort = () => fail(interruption(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const idle = () => dog.arm('idle', timeouts.idleMs);

    const onResponse = (res: http.IncomingMessage) => {
      if (done) return;
      idle();
      body = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          idle();
          callback(null, chunk);
        },
      });
      body.on('close', () => {
        dog.stop();
        signal?.removeEventListener('abort', onAbort);
        res.destroy();
      });
      res.on('error', (error) => fail(error));
      res.on('end', () => dog.stop());
      res.pipe(body);
      done = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
    };
    const watch = (req: http.ClientRequest, secure: boolean) => {
      requests.push(req);
      req.on('error', fail);
      req.on('socket', (socket) => {
        if (!socket.connecting) return idle();
        dog.arm('connect', timeouts.connectMs);
        socket.once(secure ? 'secureConnect' : 'connect', idle);
      });
      return req;
    };
    const send = (req: http.ClientRequest) => {
      if (ask.body === undefined) req.end();
      else if (Buffer.isBuffer(ask.body)) req.end(ask.body);
      else {
        // Each chunk the socket takes is progress: the registry is silent while it receives.
        const metered = new Transform({ transform: (chunk, _e, callback) => { idle(); callback(null, chunk); } });
        ask.body.on('error', fail);
        ask.body.pipe(metered).pipe(req);
      }
    };
    const headers: Record<string, string> = { 'user-agent': 'sidebundle', ...ask.headers };
    if (Buffer.isBuffer(ask.body)) headers['content-length'] = String(ask.body.length);
    const method = ask.method ?? 'GET';
    const proxy = proxyFor(url, context.env);
    dog.arm('connect', timeouts.connectMs);
    if (proxy && url.protocol === 'http:') {
      // Plain http through a proxy: the request line carries the absolute URL.
      send(watch(http.request({ host: proxy.hostname, port: proxy.port || 80, method, path: url.href, headers: { ...headers, host: url.host } }, onResponse), false));
    } else if (proxy) {
      // https through a proxy: a CONNECT tunnel, then TLS to the registry inside it.
      watch(http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${url.hostname}:${url.port || 443}` }), false)
        .on('connect', (res, socket) => {
          if (res.statusCode !== 200) {
            fail(new Error(`proxy ${proxy.host} refused the tunnel (${res.statusCode})`));
            return;
          }
          const secure = tls.connect({ socket, servername: url.hostname });
          send(watch(https.request(url, { method, headers, createConnection: () => secure } as https.RequestOptions, onResponse), true));
        })
        .end();
    } else {
      const secure = url.protocol === 'https:';
      send(watch((secure ? https : http).request(url, { method, headers }, onResponse), secure));
    }
  });
}
