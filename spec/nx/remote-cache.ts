// A self-hosted Nx remote cache on loopback, implementing Nx's published OpenAPI contract
// (GET/PUT /v1/cache/{hash} with tar bodies, optional bearer token). Nx's own client talks to it
// through NX_SELF_HOSTED_REMOTE_CACHE_SERVER.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RemoteCache {
  url: string;
  token: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startRemoteCache(token = 'e2e-token'): Promise<RemoteCache> {
  const store = new Map<string, Buffer>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const m = /^\/v1\/cache\/([A-Za-z0-9]+)$/.exec(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.statusCode = 401;
      res.end();
      return;
    }
    if (!m) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const hash = m[1]!;
    if (req.method === 'GET') {
      const body = store.get(hash);
      res.statusCode = body ? 200 : 404;
      if (body) res.setHeader('content-type', 'application/octet-stream');
      res.end(body);
    } else if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (store.has(hash)) {
          res.statusCode = 409; // the contract: an entry is never overwritten
        } else {
          store.set(hash, Buffer.concat(chunks));
          res.statusCode = 202;
        }
        res.end();
      });
    } else {
      res.statusCode = 405;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
