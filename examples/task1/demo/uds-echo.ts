// The transcoder app of task1: a Unix socket (SOCK_SEQPACKET) echo server that answers every
// message with `Transcoded on <pod>: <message>`, one reply per message.
// Usage: node --import tsx uds-echo.ts --socket /path/uds-echo.sock --pod <name>
import { rmSync } from 'node:fs';
import { SeqpacketServer, type SeqpacketSocket } from 'node-unix-socket';
import { appArgs, onStop } from './app-args';

const { socket: socketPath, pod } = appArgs('uds-echo', ['socket', 'pod']);
const prefix = Buffer.from(`Transcoded on ${pod}: `);
const server = new SeqpacketServer();
const clients = new Set<SeqpacketSocket>();

server.on('connection', (client: SeqpacketSocket) => {
  clients.add(client);
  client.on('data', (message: Buffer) => client.write(Buffer.concat([prefix, message])));
  client.on('error', () => client.destroy());
  client.on('close', () => clients.delete(client));
});
server.on('error', (error: Error) => {
  process.stderr.write(`uds-echo: ${error.message}\n`);
  process.exit(1);
});

// A socket file left by a killed run would make listen fail.
rmSync(socketPath, { force: true });
try {
  server.listen(socketPath);
} catch (error) {
  process.stderr.write(`uds-echo: cannot listen on ${socketPath}: ${(error as Error).message}\n`);
  process.exit(1);
}
onStop(() => {
  for (const client of clients) client.destroy();
  server.close();
  rmSync(socketPath, { force: true });
});
process.stdout.write(`${JSON.stringify({ msg: 'ready', socket: socketPath, pod })}\n`);
