/**
 * The echo servers every target ends at, in a process of their own: a UDP echo on 127.0.0.1 and
 * a SOCK_SEQPACKET Unix socket echo (the seed chain's app). Each sends every message back as is.
 * Usage (forked with IPC): servers.ts <uds-socket-path>
 */
import { createSocket, type SocketOptions } from 'node:dgram';
import { SeqpacketServer, type SeqpacketSocket } from 'node-unix-socket';
import type { FromServers } from './lib/messages';

const literalLookup: NonNullable<SocketOptions['lookup']> = (hostname, _options, callback) =>
  callback(null, hostname, 4);

const udsPath = process.argv[2];
if (udsPath === undefined) {
  process.stderr.write('usage: servers.ts <uds-socket-path>\n');
  process.exit(2);
}

const udp = createSocket({ type: 'udp4', lookup: literalLookup });
udp.on('message', (message, remote) => udp.send(message, remote.port, remote.address));
udp.on('error', (error) => process.stderr.write(`udp echo: ${error.message}\n`));

const uds = new SeqpacketServer();
uds.on('connection', (socket: SeqpacketSocket) => {
  socket.on('data', (message: Buffer) => socket.write(message));
  socket.on('error', () => socket.destroy());
});
uds.listen(udsPath);

udp.bind({ port: 0, address: '127.0.0.1' }, () => {
  const ready: FromServers = { type: 'ready', udpEchoPort: udp.address().port, udsEchoPath: udsPath };
  process.send?.(ready);
});

// The orchestrator going away (IPC closed) ends the servers too.
process.on('disconnect', () => {
  udp.close();
  uds.close();
  process.exit(0);
});
