/**
 * One port, two protocols, as Google's emulators have it: each connection's
 * first bytes decide. A gRPC client opens with the HTTP/2 connection preface
 * ("PRI * HTTP/2.0"), handed to grpc-js through its connection injector;
 * anything else is HTTP/1.1 (curl, fetch, REST clients), handed to a plain
 * node:http server. `localhost` is bound on every address it resolves to
 * (127.0.0.1 and ::1), on the same port, as grpc-js's own bind does, so
 * clients that pick either family connect.
 */
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import type * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';

const PREFACE = Buffer.from('PRI * HTTP/2.0');

/**
 * The HTTP/2 receive window the emulator advertises, per stream and for the
 * connection: the same 16 MiB dspipe's client advertises
 * (datastore/connection.ts, FLOW_CONTROL_WINDOW). Node's default, 64 KiB for
 * the whole connection, had a client send each ~3 MB Commit in 64 KiB steps,
 * each behind a WINDOW_UPDATE (a 100k restore at 0 ms: 9.1-10.4 s before,
 * 7.3-7.5 s after, same machine and hour).
 */
export const RECEIVE_WINDOW = 16 << 20;

/**
 * grpc-js's Server takes no option for its window (its channel does), so it
 * is set where the server keeps what it hands to node:http2: the settings of
 * the http2 servers it makes, and each session's own window once the peer's
 * settings are in. These are grpc-js's private fields; where a version lacks
 * them, Node's default stays and test/emulator/receive-window.test.ts fails.
 */
function widenReceiveWindow(grpcServer: grpc.Server, make: () => void): void {
  const loose = grpcServer as unknown as { commonServerOptions?: http2.ServerOptions; http2Servers?: Map<http2.Http2Server, unknown> };
  const common = loose.commonServerOptions;
  if (common !== undefined) common.settings = { ...common.settings, initialWindowSize: RECEIVE_WINDOW };
  const known = new Set(loose.http2Servers?.keys() ?? []);
  make();
  for (const server of loose.http2Servers?.keys() ?? []) {
    if (known.has(server)) continue;
    server.on('session', (session: http2.ServerHttp2Session) =>
      session.once('remoteSettings', () => {
        try {
          session.setLocalWindowSize(RECEIVE_WINDOW);
        } catch {
          // a session already closing: nothing to widen
        }
      }),
    );
  }
}

export interface Listener {
  port: number;
  close(graceMs: number): Promise<void>;
}

/** Thrown when the port is taken: the message is the whole story, for a one-line error. */
export class PortInUseError extends Error {
  readonly code = 'EADDRINUSE';
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is already in use`);
    this.name = 'PortInUseError';
  }
}

export async function listen(
  host: string,
  port: number,
  grpcServer: grpc.Server,
  onRequest: http.RequestListener,
): Promise<Listener> {
  let injector!: ReturnType<grpc.Server['createConnectionInjector']>;
  widenReceiveWindow(grpcServer, () => (injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure())));
  const httpServer = http.createServer({ keepAliveTimeout: 5000 }, onRequest);
  const sockets = new Set<net.Socket>();

  const route = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const isH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && head.length < PREFACE.length) return; // wait for the rest of the preface
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      // http2 reads what is already buffered on the next tick, then the handle directly
      // (node's http2 core, issue 35475): the socket must stay paused for it to.
      if (isH2) injector.injectConnection(socket);
      else {
        httpServer.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  };

  const addresses = host === 'localhost' ? await localhostAddresses() : [host.replace(/^\[(.*)\]$/, '$1')];
  const servers: net.Server[] = [];
  let bound = port;
  try {
    for (const [i, address] of addresses.entries()) {
      const server = net.createServer(route);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: address, port: bound, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ::1 may not exist (IPv6 disabled): the first address is enough.
        if (i > 0 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
        if (code === 'EADDRINUSE') throw new PortInUseError(host, bound);
        throw err;
      }
      servers.push(server);
      if (i === 0) bound = (server.address() as net.AddressInfo).port;
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }

  return {
    port: bound,
    close: async (graceMs) => {
      for (const s of servers) s.close();
      injector.drain(graceMs);
      httpServer.closeIdleConnections();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
          injector.destroy();
          resolve();
        }, graceMs);
        const check = () => {
          if (sockets.size === 0) {
            clearTimeout(timer);
            injector.destroy();
            resolve();
          } else setTimeout(check, 10).unref();
        };
        check();
      });
    },
  };
}

async function localhostAddresses(): Promise<string[]> {
  const found = await lookup('localhost', { all: true }).catch(() => []);
  const list = found.map((a) => a.address);
  // 127.0.0.1 first, so the port picked for port 0 comes from IPv4.
  const ordered = [...new Set(['127.0.0.1', ...list.filter((a) => a === '::1')])];
  return ordered;
}
