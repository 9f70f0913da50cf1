import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a listener, standing in for `kubectl port-forward`: `cut()` drops
 * every open connection (as a port-forward that dies does), and while `refusing` new
 * connections are reset at once, so a client's reconnection attempts fail until it is lifted.
 */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  refusing: boolean;
  /** Destroy every proxied connection; returns how many there were. */
  cut(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const proxy: { refusing: boolean } = { refusing: false };
  const server = createServer((client) => {
    if (proxy.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    get refusing() {
      return proxy.refusing;
    },
    set refusing(value: boolean) {
      proxy.refusing = value;
    },
    cut() {
      const n = open.size;
      for (const s of open) s.resetAndDestroy();
      return n;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
