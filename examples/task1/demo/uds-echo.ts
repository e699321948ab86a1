// The transcoder app of task1: a Unix socket echo server that answers every message with
// `Transcoded on <pod>: <message>`.
//   --mode seqpacket  SOCK_SEQPACKET, one reply per message (the static demo's framed variant)
//   --mode stream     SOCK_STREAM, one reply per chunk read (the seed's byte-stream UDS, as the
//                     seed's uds-cluster Target declares it: no `mode`)
// Usage: node --import tsx uds-echo.ts --socket /path/uds-echo.sock --mode stream --pod <name>
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { SeqpacketServer, type SeqpacketSocket } from 'node-unix-socket';
import { appArgs, onStop } from './app-args';

const { socket: socketPath, pod, mode } = appArgs('uds-echo', ['socket', 'pod', 'mode']);
if (mode !== 'stream' && mode !== 'seqpacket') {
  process.stderr.write(`uds-echo: --mode must be stream or seqpacket, got "${mode}"\n`);
  process.exit(2);
}
const prefix = Buffer.from(`Transcoded on ${pod}: `);

interface EchoClient {
  destroy(): void;
}
const clients = new Set<EchoClient>();
const fail = (error: Error): never => {
  process.stderr.write(`uds-echo: ${socketPath}: ${error.message}\n`);
  process.exit(1);
};

const announce = (): void => {
  process.stdout.write(`${JSON.stringify({ msg: 'ready', socket: socketPath, mode, pod })}\n`);
};
let close: () => void;
// A socket file left by a killed run would make listen fail.
rmSync(socketPath, { force: true });
if (mode === 'seqpacket') {
  const server = new SeqpacketServer();
  server.on('connection', (client: SeqpacketSocket) => {
    clients.add(client);
    client.on('data', (message: Buffer) => client.write(Buffer.concat([prefix, message])));
    client.on('error', () => client.destroy());
    client.on('close', () => clients.delete(client));
  });
  server.on('error', fail);
  try {
    server.listen(socketPath);
  } catch (error) {
    fail(error as Error);
  }
  announce();
  close = () => server.close();
} else {
  const server = createServer((client: Socket) => {
    clients.add(client);
    client.on('data', (chunk: Buffer) => client.write(Buffer.concat([prefix, chunk])));
    client.on('error', () => client.destroy());
    client.on('close', () => clients.delete(client));
  });
  server.on('error', fail);
  server.listen(socketPath, announce);
  close = () => server.close();
}
onStop(() => {
  for (const client of clients) client.destroy();
  close();
  rmSync(socketPath, { force: true });
});
