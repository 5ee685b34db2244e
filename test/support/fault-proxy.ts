/**
 * A TCP proxy in front of a real server (Orthanc) that tests switch between behaving and misbehaving, to
 * inject the network faults a PACS produces: stopped (connection refused, open connections cut), stalled
 * (accepts and reads requests, answers nothing), or a rule that fires on one kind of request (e.g. the
 * first STOW) and cuts it before it reaches the server, or stops the server once part of its answer has
 * been sent (a stop in the middle of a download). It records every request line it saw.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'stall';

/** Decides what happens to a request, from its request line ("POST /dicom-web/studies HTTP/1.1"). */
export type RequestRule = (requestLine: string) => 'pass' | 'cut' | 'down' | 'down-mid-response';

/** Bytes of the answer that 'down-mid-response' lets through before the server "stops". */
export const MID_RESPONSE_BYTES = 64 * 1024;

export interface FaultProxy {
  url: string;
  port: number;
  /** Request lines seen so far (also those cut or stalled). */
  requests: string[];
  mode: ProxyMode;
  rule: RequestRule;
  /** Stops listening (connection refused) and cuts every open connection: a stopped server. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;

  const onConnection = (client: Socket) => {
    sockets.add(client);
    let upstream: Socket | null = null;
    let bytesUntilDown = Infinity;
    const close = () => {
      client.destroy();
      upstream?.destroy();
    };
    client.on('close', () => sockets.delete(client));
    client.on('error', close);
    client.on('data', (chunk: Buffer) => {
      // a chunk that starts a request (keep-alive connections carry several)
      const head = chunk.subarray(0, 200).toString('latin1');
      const requestLine = /^[A-Z]+ \S+ HTTP\/1\.[01]/.test(head) ? head.split('\r\n')[0]! : null;
      if (requestLine) {
        proxy.requests.push(requestLine);
        const action = proxy.rule(requestLine);
        if (action === 'down') {
          void proxy.down();
          return;
        }
        if (action === 'cut') {
          close();
          return;
        }
        if (action === 'down-mid-response') bytesUntilDown = MID_RESPONSE_BYTES;
      }
      if (proxy.mode === 'stall') return; // read and swallow: the caller waits for an answer that never comes
      if (!upstream) {
        upstream = connect(targetPort, targetHost);
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream!);
          client.end();
        });
        upstream.on('error', close);
        upstream.on('data', (d: Buffer) => {
          if (d.length < bytesUntilDown) {
            bytesUntilDown -= d.length;
            client.write(d);
            return;
          }
          client.write(d.subarray(0, bytesUntilDown), () => void proxy.down());
          bytesUntilDown = Infinity;
        });
      }
      upstream.write(chunk);
    });
  };

  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => {
        server = s;
        port = (s.address() as { port: number }).port;
        resolve();
      });
    });

  await listen(0);
  const proxy: FaultProxy = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests: [],
    mode: 'pass',
    rule: () => 'pass',
    async down() {
      const s = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (s) await new Promise((r) => s.close(r));
    },
    async up() {
      if (!server) await listen(port);
    },
    async close() {
      await proxy.down();
    },
  };
  return proxy;
}
