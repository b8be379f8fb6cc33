/**
 * The emulator for scale.bench, in its own process so that the dspipe
 * process's peak RSS is dspipe's alone. One store is served on one port per
 * latency (`--latencies 0,20`): data seeded once is read at 0 ms and at 20 ms
 * per RPC without seeding it twice. This is what startEmulator does, with a
 * second gRPC server sharing the same DatastoreService, each on the same
 * listener as startEmulator's (src/emulator/listener.ts: its 16 MiB HTTP/2
 * receive window; grpc-js's own bind keeps Node's 64 KiB, which is not the
 * emulator users run).
 *
 *   node dist/bench/lib/emulator-host.js --latencies 0,20
 *   → stdout: {"ports":{"0":41231,"20":41232},"pid":1234}
 *
 * Stops on SIGTERM or when stdin closes (the parent died).
 */
import { parseArgs } from 'node:util';
import { DatastoreService, type QueryEngine } from '../../src/emulator/service.js';
import { createServer } from '../../src/emulator/server.js';
import { listen, type Listener } from '../../src/emulator/listener.js';

const { values } = parseArgs({ options: { latencies: { type: 'string', default: '0' } } });
const latencies = values.latencies.split(',').map(Number);
if (latencies.some((n) => !(n >= 0))) throw new Error(`--latencies must be ms >= 0, got ${values.latencies}`);

let engine: Promise<QueryEngine> | undefined;
const service = new DatastoreService(() => (engine ??= import('../../src/emulator/query/index.js') as Promise<QueryEngine>));
const servers: Listener[] = [];
const ports: Record<string, number> = {};
for (const latencyMs of latencies) {
  // gRPC only: an HTTP/1.1 request gets a 404
  const listener = await listen('127.0.0.1', 0, createServer(service, { latencyMs }), (_req, res) => res.writeHead(404).end());
  ports[String(latencyMs)] = listener.port;
  servers.push(listener);
}
process.stdout.write(`${JSON.stringify({ ports, pid: process.pid })}\n`);

function stop(): void {
  for (const s of servers) void s.close(0);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop).resume();
