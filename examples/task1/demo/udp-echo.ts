// The worker app of task1: a UDP echo server that answers every datagram with
// `Echo on <pod>: <message>`, one reply per datagram, to the sender.
// Usage: node --import tsx udp-echo.ts --address 127.0.0.13 --port 9999 --pod <name>
import { createSocket } from 'node:dgram';
import { appArgs, onStop } from './app-args';

const { address, port, pod } = appArgs('udp-echo', ['address', 'port', 'pod']);
const prefix = Buffer.from(`Echo on ${pod}: `);
const socket = createSocket('udp4');

socket.on('message', (message, peer) => {
  socket.send(Buffer.concat([prefix, message]), peer.port, peer.address);
});
socket.on('error', (error) => {
  process.stderr.write(`udp-echo: ${address}:${port}: ${error.message}\n`);
  process.exit(1);
});
socket.bind(Number(port), address, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'ready', ...socket.address(), pod })}\n`);
});
onStop(() => socket.close());
