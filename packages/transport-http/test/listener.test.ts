import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ConnectError, type ListenerTransport } from '@l7mp/core';
import { HttpAbortedError, HttpListener, httpTransport, ListenError } from '../src';
import { listenerContext, Recorder } from './support';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function createListener(
  spec: { port?: number; address?: string; path?: string } = {},
  result?: { ok: boolean; status: number; message: string; content?: unknown },
) {
  const harness = listenerContext(
    {
      protocol: 'HTTP',
      port: spec.port ?? 0,
      address: spec.address ?? '127.0.0.1',
      ...(spec.path !== undefined ? { path: spec.path } : {}),
    },
    result,
  );
  const factory = httpTransport.listeners?.[0];
  if (factory === undefined) throw new Error('no listener factory');
  const listener = factory.create(harness.context);
  cleanups.push(() => listener.close());
  return { listener, ...harness };
}

function portOf(listener: ListenerTransport): number {
  const address = listener.address?.();
  if (address === undefined || !('port' in address)) throw new Error('listener not bound');
  return address.port;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(
  port: number,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
    /** Send the head now and leave the body open. */
    streaming?: boolean;
  } = {},
): { request: ClientRequest; reply: Promise<Reply> } {
  const request = httpRequest({
    host: '127.0.0.1',
    port,
    method: options.method ?? 'GET',
    path: options.path ?? '/',
    headers: options.headers ?? {},
    agent: options.agent ?? false,
  });
  const reply = new Promise<Reply>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
  });
  if (options.body !== undefined) request.write(options.body);
  if (options.streaming === true) request.flushHeaders();
  else request.end();
  return { request, reply };
}

describe('HTTP listener', () => {
  it('turns a request into a session: body in, writeHead and body out', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const port = portOf(listener);
    const { request, reply } = send(port, {
      method: 'POST',
      path: '/api/items?id=7&x=y',
      headers: { 'X-Trace': 'abc', 'Content-Type': 'text/plain' },
      body: 'hello body',
    });
    const connection = await next();
    expect(connection.conduit.kind).toBe('byte-stream');
    const localPort = request.socket?.localPort;
    expect(connection.name).toBe(`HTTP:127.0.0.1:${localPort}-127.0.0.1:${port}-0`);
    expect(connection.metadata).toMatchObject({
      IP: { src_addr: '127.0.0.1', dst_addr: '127.0.0.1' },
      TCP: { src_port: localPort, dst_port: port },
      HTTP: {
        version: '1.1',
        method: 'POST',
        url: {
          url: '/api/items?id=7&x=y',
          href: '/api/items?id=7&x=y',
          protocol: '',
          host: '',
          port: '',
          path: '/api/items?id=7&x=y',
          query: 'id=7&x=y',
        },
        headers: { 'x-trace': 'abc', 'content-type': 'text/plain', host: `127.0.0.1:${port}` },
      },
    });
    const recorder = new Recorder(connection.conduit);
    await recorder.waitForEnd();
    expect(recorder.text).toBe('hello body');

    connection.conduit.writeHead?.({ status: 201, headers: { 'X-Answer': '42' } });
    expect(connection.conduit.write(Buffer.from('created '))).toBe(true);
    connection.conduit.write(Buffer.from('ok'));
    connection.conduit.end();
    const response = await reply;
    expect(response.status).toBe(201);
    expect(response.headers['x-answer']).toBe('42');
    expect(response.body.toString()).toBe('created ok');
    expect(await recorder.waitForClose()).toBeUndefined();
    expect(connection.conduit.write(Buffer.from('late'))).toBe(false);
  });

  it('answers 200 when no head is written, and ignores a head after the body started', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { reply } = send(portOf(listener));
    const { conduit } = await next();
    conduit.write(Buffer.from('plain'));
    conduit.writeHead?.({ status: 500 });
    conduit.end();
    const response = await reply;
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('plain');
  });

  it('reports an absolute-form request target in the url metadata', async () => {
    const { listener, next } = createListener();
    await listener.start();
    send(portOf(listener), { path: 'http://example.com:8080/p?q=1' });
    const { metadata, conduit } = await next();
    expect(metadata).toMatchObject({
      HTTP: {
        url: {
          url: 'http://example.com:8080/p?q=1',
          protocol: 'http:',
          host: 'example.com',
          port: '8080',
          path: '/p?q=1',
          query: 'q=1',
        },
      },
    });
    conduit.destroy();
  });

  it('reject() answers JSON with a byte-exact Content-Length and no stray headers', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { reply } = send(portOf(listener));
    const connection = await next();
    const message = 'Nem található útvonal — ünnepi 🎉';
    connection.reject?.({ ok: false, status: 404, message, content: { why: 'no rule matched' } });
    const response = await reply;
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/json');
    expect(Number(response.headers['content-length'])).toBe(response.body.length);
    expect(response.headers.status).toBeUndefined();
    expect(response.headers.message).toBeUndefined();
    expect(JSON.parse(response.body.toString())).toEqual({
      status: 404,
      message,
      content: { why: 'no rule matched' },
    });
  });

  it('answers a failed accept with its result even if reject() was not called', async () => {
    const { listener } = createListener(
      {},
      { ok: false, status: 503, message: 'Service Unavailable', content: 'x' },
    );
    await listener.start();
    const response = await send(portOf(listener)).reply;
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body.toString())).toEqual({
      status: 503,
      message: 'Service Unavailable',
      content: 'x',
    });
  });

  it('answers destroy(error) before any head with a JSON error carrying the error status', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { reply } = send(portOf(listener));
    const { conduit } = await next();
    const recorder = new Recorder(conduit);
    conduit.destroy(new ConnectError('upstream refused'));
    const response = await reply;
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body.toString())).toMatchObject({ status: 503, message: 'upstream refused' });
    expect(recorder.closedWith?.error?.message).toBe('upstream refused');
  });

  it('turns an invalid head into a 502 JSON error', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { reply } = send(portOf(listener));
    const { conduit } = await next();
    const recorder = new Recorder(conduit);
    conduit.writeHead?.({ status: 200, headers: { 'bad header': 'x' } });
    const response = await reply;
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body.toString()).message).toMatch(/invalid response head/);
    expect(recorder.closedWith?.error?.message).toMatch(
      /HTTP listener "http-in": session HTTP:.*invalid response head/,
    );
  });

  it('answers 500 when accepting throws', async () => {
    const harness = listenerContext({ protocol: 'HTTP', port: 0, address: '127.0.0.1' });
    const listener = new HttpListener({
      ...harness.context,
      accept: async () => {
        throw new Error('engine exploded');
      },
    });
    cleanups.push(() => listener.close());
    await listener.start();
    const response = await send(portOf(listener)).reply;
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body.toString())).toMatchObject({ status: 500, message: 'engine exploded' });
  });

  it('cuts a response that already started when destroyed with an error', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { reply } = send(portOf(listener));
    const { conduit } = await next();
    conduit.write(Buffer.from('partial'));
    conduit.destroy(new Error('broken'));
    await expect(reply).rejects.toThrow();
  });

  it('reports a client that goes away as close with an error', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { request, reply } = send(portOf(listener), { method: 'POST', body: 'partial' });
    reply.catch(() => {});
    const { conduit } = await next();
    const recorder = new Recorder(conduit);
    request.destroy();
    expect(await recorder.waitForClose()).toBeInstanceOf(HttpAbortedError);
  });

  it('serves only the configured path', async () => {
    const { listener, next, connections } = createListener({ path: '/in' });
    await listener.start();
    const port = portOf(listener);
    const refused = await send(port, { path: '/other' }).reply;
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body.toString())).toMatchObject({ status: 404, message: 'Not Found' });
    expect(connections).toHaveLength(0);
    send(port, { path: '/in?a=1' });
    const { conduit } = await next();
    conduit.end();
  });

  it('stops delivering the body while paused', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const { request, reply } = send(portOf(listener), { method: 'PUT', streaming: true });
    const { conduit } = await next();
    const recorder = new Recorder(conduit);
    conduit.pause();
    request.end('body while paused');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(recorder.chunks).toHaveLength(0);
    conduit.resume();
    await recorder.waitForEnd();
    expect(recorder.text).toBe('body while paused');
    conduit.end();
    expect((await reply).status).toBe(200);
  });

  it('rejects start() when the port is taken, leaving nothing bound', async () => {
    const { listener: first } = createListener();
    await first.start();
    const { listener: second } = createListener({ port: portOf(first) });
    await expect(second.start()).rejects.toThrow(ListenError);
    await expect(second.start()).rejects.toThrow(
      /HTTP listener "http-in": could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
    expect(second.address?.()).toBeUndefined();
  });

  it('binds the configured address only', async () => {
    const { listener } = createListener({ address: '::1' });
    await listener.start();
    expect(listener.address?.()).toMatchObject({ address: '::1' });
    const refused = httpRequest({ host: '127.0.0.1', port: portOf(listener), agent: false });
    refused.end();
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('refuses a spec of another protocol', () => {
    const harness = listenerContext({ protocol: 'TCP', port: 0 });
    expect(() => new HttpListener(harness.context)).toThrow(/spec has protocol TCP/);
  });

  it('close() resolves promptly and drops keep-alive connections', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const port = portOf(listener);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const first = send(port, { agent });
    const firstSession = await next();
    firstSession.conduit.end();
    await first.reply;
    const idleSocket = first.request.socket;
    expect(idleSocket?.destroyed).toBe(false);
    const idleClosed = idleSocket ? once(idleSocket, 'close') : Promise.resolve();

    const inFlight = send(port, { agent: new Agent({ keepAlive: true }) });
    const inFlightSession = await next();
    const inFlightSocket = inFlight.request.socket;

    const started = Date.now();
    await listener.close();
    await idleClosed;
    expect(Date.now() - started).toBeLessThan(1000);

    // The request in flight still completes, and its connection is not left idle afterwards.
    inFlightSession.conduit.write(Buffer.from('late answer'));
    inFlightSession.conduit.end();
    expect((await inFlight.reply).body.toString()).toBe('late answer');
    if (inFlightSocket) await once(inFlightSocket, 'close');
  });
});
