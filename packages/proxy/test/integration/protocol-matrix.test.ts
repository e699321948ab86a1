import { afterEach, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import type { RawData, WebSocket } from 'ws';
import {
  httpRequest,
  within,
  listenerPort,
  pattern,
  Resources,
  seqpacketClient,
  seqpacketEchoServer,
  tcpClient,
  tcpEchoServer,
  toBuffer,
  udpClient,
  udpEchoServer,
  wsClient,
  wsServer,
  LOOPBACK,
} from './helpers';

/**
 * Every protocol as a listener (in front of an Echo cluster) and as a cluster (behind a TCP or
 * WebSocket listener, in front of a real echo server of that protocol), through real sockets.
 */

const resources = new Resources();
afterEach(() => resources.closeAll());

const ECHO_CLUSTER = { name: 'echo', spec: { protocol: 'Echo' } };
const TO_ECHO = [{ action: { route: { destination: 'echo' } } }];

/** Distinct messages of different sizes, so that merging or splitting is visible. */
const MESSAGES = [pattern(1, 1), pattern(100, 2), pattern(1400, 3), Buffer.from('the last one')];

async function listenerInFrontOfEcho(spec: Record<string, unknown>) {
  return resources.proxy({
    clusters: [ECHO_CLUSTER],
    listeners: [{ name: 'in', spec, rules: TO_ECHO }],
  });
}

describe('each listener protocol in front of an Echo cluster', () => {
  it('UDP: every datagram comes back whole, one reply per datagram', async () => {
    const proxy = await listenerInFrontOfEcho({ protocol: 'UDP', port: 0, address: LOOPBACK });
    const client = await udpClient(resources, listenerPort(proxy, 'in'));
    for (const message of MESSAGES) {
      client.send(message);
      expect(await client.inbox.next('the UDP echo')).toEqual(message);
    }
    expect(await client.inbox.staysEmpty(100)).toBe(true);
  });

  it('TCP: the bytes come back', async () => {
    const proxy = await listenerInFrontOfEcho({ protocol: 'TCP', port: 0, address: LOOPBACK });
    const client = await tcpClient(resources, { port: listenerPort(proxy, 'in') });
    const sent = Buffer.concat(MESSAGES);
    for (const message of MESSAGES) client.socket.write(message);
    expect(await client.data.waitBytes(sent.length)).toEqual(sent);
  });

  it('UDS stream: the bytes come back', async () => {
    const socketPath = path.join(await resources.tempDir(), 'stream.sock');
    await listenerInFrontOfEcho({ protocol: 'UnixDomainSocket', filename: socketPath });
    const client = await tcpClient(resources, { path: socketPath });
    const sent = Buffer.concat(MESSAGES);
    for (const message of MESSAGES) client.socket.write(message);
    expect(await client.data.waitBytes(sent.length)).toEqual(sent);
  });

  it('UDS seqpacket: every message comes back whole', async () => {
    const socketPath = path.join(await resources.tempDir(), 'seqpacket.sock');
    await listenerInFrontOfEcho({ protocol: 'UnixDomainSocket', filename: socketPath, mode: 'seqpacket' });
    const client = await seqpacketClient(resources, socketPath);
    for (const message of MESSAGES) client.socket.write(message);
    for (const message of MESSAGES) expect(await client.inbox.next('the seqpacket echo')).toEqual(message);
    expect(await client.inbox.staysEmpty(100)).toBe(true);
  });

  it('WebSocket: every message comes back whole', async () => {
    const proxy = await listenerInFrontOfEcho({ protocol: 'WebSocket', port: 0, address: LOOPBACK });
    const client = await wsClient(resources, listenerPort(proxy, 'in'));
    for (const message of MESSAGES) client.ws.send(message);
    for (const message of MESSAGES) expect(await client.inbox.next('the WebSocket echo')).toEqual(message);
    expect(await client.inbox.staysEmpty(100)).toBe(true);
  });

  it('HTTP: the request body comes back as the response body with status 200', async () => {
    const proxy = await listenerInFrontOfEcho({ protocol: 'HTTP', port: 0, address: LOOPBACK });
    const body = 'a request body that the Echo cluster sends back\n'.repeat(50);
    const response = await httpRequest(listenerPort(proxy, 'in'), { body });
    expect(response.status).toBe(200);
    expect(response.body).toBe(body);
  });

  it('JSONSocket over WebSocket: the handshake is answered with 200, then data is echoed', async () => {
    const proxy = await listenerInFrontOfEcho({
      protocol: 'JSONSocket',
      transport: { protocol: 'WebSocket', port: 0, address: LOOPBACK },
    });
    const client = await wsClient(resources, listenerPort(proxy, 'in'));
    client.ws.send(JSON.stringify({ JSONSocketVersion: 1, user: 'alice' }));
    const header = JSON.parse((await client.inbox.next('the JSONSocket response header')).toString()) as {
      JSONSocketVersion?: unknown;
      JSONSocketStatus?: unknown;
    };
    expect(header).toMatchObject({ JSONSocketVersion: 1, JSONSocketStatus: 200 });
    for (const message of MESSAGES) client.ws.send(message);
    for (const message of MESSAGES) expect(await client.inbox.next('the JSONSocket echo')).toEqual(message);
    // The session carries the client's header as metadata.
    const [session] = proxy.sessions() as { metadata: { JSONSocket?: unknown } }[];
    expect(session?.metadata.JSONSocket).toMatchObject({ JSONSocketVersion: 1, user: 'alice' });
  });

  it('JSONSocket over WebSocket: a header that is not JSON is refused with 400 and no session', async () => {
    const proxy = await listenerInFrontOfEcho({
      protocol: 'JSONSocket',
      transport: { protocol: 'WebSocket', port: 0, address: LOOPBACK },
    });
    const client = await wsClient(resources, listenerPort(proxy, 'in'));
    client.ws.send('not json');
    const header = JSON.parse((await client.inbox.next('the JSONSocket error header')).toString()) as {
      JSONSocketStatus?: unknown;
    };
    expect(header.JSONSocketStatus).toBe(400);
    expect(proxy.sessions()).toHaveLength(0);
  });
});

/** A proxy whose listener `in` (TCP or WebSocket) routes to `cluster`. */
async function clusterBehind(listenerProtocol: 'TCP' | 'WebSocket', cluster: Record<string, unknown>) {
  const proxy = await resources.proxy({
    clusters: [{ name: 'backend', ...cluster }],
    listeners: [
      {
        name: 'in',
        spec: { protocol: listenerProtocol, port: 0, address: LOOPBACK },
        rules: [{ action: { route: { destination: 'backend', retry: { timeout: 1000 } } } }],
      },
    ],
  });
  return listenerPort(proxy, 'in');
}

describe('each cluster protocol behind a TCP or WebSocket listener, to a real echo server', () => {
  it('UDP cluster behind WebSocket: N messages in, N equal messages out (datagram ↔ datagram)', async () => {
    const server = await udpEchoServer(resources);
    const port = await clusterBehind('WebSocket', {
      spec: { protocol: 'UDP', port: server.port },
      endpoints: [{ name: 'udp-echo', spec: { address: LOOPBACK } }],
    });
    const client = await wsClient(resources, port);
    for (const message of MESSAGES) client.ws.send(message);
    for (const message of MESSAGES) expect(await client.inbox.next('the UDP echo via WS')).toEqual(message);
    expect(server.received).toEqual(MESSAGES);
    expect(await client.inbox.staysEmpty(100)).toBe(true);
  });

  it('TCP cluster behind TCP: the bytes reach the server and come back', async () => {
    const server = await tcpEchoServer(resources);
    const port = await clusterBehind('TCP', {
      spec: { protocol: 'TCP', port: 1 },
      endpoints: [{ name: 'tcp-echo', spec: { address: LOOPBACK, port: server.port } }],
    });
    const client = await tcpClient(resources, { port });
    const sent = Buffer.concat(MESSAGES);
    client.socket.write(sent);
    expect(await client.data.waitBytes(sent.length)).toEqual(sent);
    expect(server.received[0]?.bytes).toEqual(sent);
  });

  it('TCP cluster behind TCP: the client half-close reaches the server and the session ends', async () => {
    const server = await tcpEchoServer(resources);
    const port = await clusterBehind('TCP', {
      spec: { protocol: 'TCP', port: server.port },
      endpoints: [{ name: 'tcp-echo', spec: { address: LOOPBACK } }],
    });
    const client = await tcpClient(resources, { port });
    client.socket.end('bye');
    expect((await client.data.waitBytes(3)).toString()).toBe('bye');
    await client.data.waitEnd();
    await client.closed;
    expect(await server.connections()).toBe(0);
  });

  it('UDS stream cluster behind TCP: the bytes reach the server and come back', async () => {
    const socketPath = path.join(await resources.tempDir(), 'echo-stream.sock');
    const server = await tcpEchoServer(resources, { socketPath });
    const port = await clusterBehind('TCP', {
      spec: { protocol: 'UnixDomainSocket' },
      endpoints: [{ name: 'uds-echo', spec: { address: socketPath } }],
    });
    const client = await tcpClient(resources, { port });
    const sent = Buffer.concat(MESSAGES);
    client.socket.write(sent);
    expect(await client.data.waitBytes(sent.length)).toEqual(sent);
    expect(server.received[0]?.bytes).toEqual(sent);
  });

  it('UDS seqpacket cluster behind WebSocket: N messages in, N equal messages out', async () => {
    const socketPath = path.join(await resources.tempDir(), 'echo-seqpacket.sock');
    const server = seqpacketEchoServer(resources, socketPath);
    const port = await clusterBehind('WebSocket', {
      spec: { protocol: 'UnixDomainSocket', mode: 'seqpacket', filename: socketPath },
      endpoints: [{ name: 'seqpacket-echo', spec: { filename: socketPath } }],
    });
    const client = await wsClient(resources, port);
    for (const message of MESSAGES) client.ws.send(message);
    for (const message of MESSAGES)
      expect(await client.inbox.next('the seqpacket echo via WS')).toEqual(message);
    expect(server.received).toEqual(MESSAGES);
    expect(await client.inbox.staysEmpty(100)).toBe(true);
  });

  it('WebSocket cluster behind WebSocket: N messages in, N equal messages out, path passed on', async () => {
    const server = await wsServer(resources);
    const port = await clusterBehind('WebSocket', {
      spec: { protocol: 'WebSocket', port: server.port },
      endpoints: [{ name: 'ws-echo', spec: { address: LOOPBACK } }],
    });
    const client = await wsClient(resources, port, '/chat/room-1');
    for (const message of MESSAGES) client.ws.send(message);
    for (const message of MESSAGES) expect(await client.inbox.next('the WS echo via WS')).toEqual(message);
    expect(server.paths).toEqual(['/chat/room-1']);
  });

  it('WebSocket cluster behind TCP: the bytes reach the server and come back', async () => {
    const server = await wsServer(resources);
    const port = await clusterBehind('TCP', {
      spec: { protocol: 'WebSocket', port: server.port },
      endpoints: [{ name: 'ws-echo', spec: { address: LOOPBACK } }],
    });
    const client = await tcpClient(resources, { port });
    const sent = Buffer.concat(MESSAGES);
    client.socket.write(sent);
    expect(await client.data.waitBytes(sent.length)).toEqual(sent);
  });

  it('WebSocket cluster behind UDP: datagrams cross without HTTP metadata (anchor bug fixed)', async () => {
    const server = await wsServer(resources);
    const proxy = await resources.proxy({
      clusters: [
        {
          name: 'backend',
          spec: { protocol: 'WebSocket', port: server.port },
          endpoints: [{ name: 'ws-echo', spec: { address: LOOPBACK } }],
        },
      ],
      listeners: [
        {
          name: 'in',
          spec: { protocol: 'UDP', port: 0, address: LOOPBACK },
          rules: [{ action: { route: { destination: 'backend' } } }],
        },
      ],
    });
    const client = await udpClient(resources, listenerPort(proxy, 'in'));
    for (const message of MESSAGES) {
      client.send(message);
      expect(await client.inbox.next('the WS echo via UDP')).toEqual(message);
    }
  });

  it('JSONSocket-over-WebSocket cluster behind WebSocket: handshake with the header, then echo', async () => {
    const headers: unknown[] = [];
    const server = await wsServer(resources, (ws: WebSocket) => {
      let handshaken = false;
      ws.on('message', (data: RawData) => {
        const message = toBuffer(data);
        if (!handshaken) {
          handshaken = true;
          headers.push(JSON.parse(message.toString()));
          ws.send(JSON.stringify({ JSONSocketVersion: 1, JSONSocketStatus: 200, JSONSocketMessage: 'OK' }));
          return;
        }
        ws.send(message);
      });
    });
    const port = await clusterBehind('WebSocket', {
      spec: {
        protocol: 'JSONSocket',
        transport: { protocol: 'WebSocket', port: server.port },
        header: [
          { set: { key: 'service', value: 'echo' } },
          { path: { from: '/HTTP/url/path', to: '/path' } },
        ],
      },
      endpoints: [{ name: 'jsonsocket-echo', spec: { address: LOOPBACK } }],
    });
    const client = await wsClient(resources, port, '/app');
    for (const message of MESSAGES) client.ws.send(message);
    for (const message of MESSAGES) expect(await client.inbox.next('the JSONSocket echo')).toEqual(message);
    expect(headers).toEqual([{ JSONSocketVersion: 1, service: 'echo', path: '/app' }]);
    expect(await client.inbox.staysEmpty(100)).toBe(true);
  });

  it('JSONSocket cluster: a server refusing the handshake fails the session and closes the client', async () => {
    const server = await wsServer(resources, (ws: WebSocket) => {
      ws.once('message', () =>
        ws.send(JSON.stringify({ JSONSocketVersion: 1, JSONSocketStatus: 403, JSONSocketMessage: 'no' })),
      );
    });
    const port = await clusterBehind('WebSocket', {
      spec: { protocol: 'JSONSocket', transport: { protocol: 'WebSocket', port: server.port } },
      endpoints: [{ name: 'jsonsocket-refuser', spec: { address: LOOPBACK } }],
    });
    const client = await wsClient(resources, port);
    // The WebSocket listener accepts the upgrade before routing, so a failed setup is a close.
    await within(client.closed, 'the client to be closed');
    expect(client.inbox.received).toBe(0);
  });
});
