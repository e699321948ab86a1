import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { apiPort, buildBin, runBin, type RunningBin } from './support';

const API = {
  name: 'controller-listener',
  spec: { protocol: 'HTTP', port: 0, address: '127.0.0.1' },
  rules: [
    { action: { route: { destination: { name: 'l7mp-controller', spec: { protocol: 'L7mpController' } } } } },
  ],
};

async function udpRoundTrip(port: number, message: string): Promise<string> {
  const socket: Socket = createSocket('udp4');
  try {
    socket.send(message, port, '127.0.0.1');
    const [reply] = (await Promise.race([
      once(socket, 'message'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no UDP reply within 5 s')), 5000)),
    ])) as [Buffer];
    return reply.toString();
  } finally {
    socket.close();
  }
}

describe('the l7mp-proxy bin (built, run as a child process)', () => {
  let dir: string;
  let bin: RunningBin | undefined;

  beforeAll(async () => {
    await buildBin();
    dir = await mkdtemp(path.join(tmpdir(), 'l7mp-bin-'));
  }, 180_000);

  afterEach(async () => {
    if (bin !== undefined && bin.child.exitCode === null && bin.child.signalCode === null) {
      bin.child.kill('SIGKILL');
      await bin.exited;
    }
    bin = undefined;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is configured over REST, carries UDP traffic, and exits 0 on SIGTERM', async () => {
    const file = path.join(dir, 'api.yml');
    // `.yml` is YAML (the anchor parsed it as JSON).
    await writeFile(file, `listeners:\n  - ${JSON.stringify(API)}\n`);
    bin = runBin(['-c', file, '-l', 'info']);
    const port = await apiPort(bin);
    const add = await fetch(`http://127.0.0.1:${port}/api/v1/listeners`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        listener: {
          name: 'udp-echo',
          spec: { protocol: 'UDP', port: 0, address: '127.0.0.1' },
          rules: [{ action: { route: { destination: { name: 'echo', spec: { protocol: 'Echo' } } } } }],
        },
      }),
    });
    expect(await add.json()).toEqual({ status: 200, message: 'OK' });
    const listener = (await (await fetch(`http://127.0.0.1:${port}/api/v1/listeners/udp-echo`)).json()) as {
      bound: { port: number };
    };
    expect(await udpRoundTrip(listener.bound.port, 'hello')).toBe('hello');
    bin.child.kill('SIGTERM');
    expect(await bin.exited).toEqual({ code: 0, signal: null });
  });

  it('rejects an invalid config with every problem and its path, and starts nothing', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        listeners: [API, { name: 'u', spec: { protocol: 'UDP', port: 'abc' }, rules: [] }],
        routes: [{ name: 'r', retry: { retry_on: 'sometimes' } }],
      }),
    );
    bin = runBin(['-c', file]);
    expect((await bin.exited).code).toBe(1);
    expect(bin.stderr).toEqual([
      `${file}: listeners[1].spec.port: expected an integer 0-65535, got "abc"`,
      `${file}: routes[0].retry.retry_on: expected one of never, connect-failure, disconnect, always, got "sometimes"`,
      `${file}: routes[0].destination: a route needs a destination (or its alias "cluster")`,
      `${file}: 3 problems; nothing was started`,
    ]);
  });

  it('reports a listener that cannot bind and exits 1', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const busyPort = (holder.address() as AddressInfo).port;
      const file = path.join(dir, 'busy.yaml');
      await writeFile(
        file,
        JSON.stringify({
          listeners: [
            API,
            {
              name: 'tcp-in',
              spec: { protocol: 'TCP', port: busyPort, address: '127.0.0.1' },
              rules: 'none',
            },
          ],
        }),
      );
      bin = runBin(['-c', file]);
      expect((await bin.exited).code).toBe(1);
      expect(bin.stderr.join('\n')).toMatch(/listener "tcp-in" cannot start: .*EADDRINUSE/);
      expect(bin.stderr.at(-1)).toMatch(/could not start; nothing is running$/);
    } finally {
      holder.close();
    }
  });

  it('removes its Unix socket files on SIGTERM', async () => {
    const socketPath = path.join(dir, 'uds.sock');
    const file = path.join(dir, 'uds.yaml');
    await writeFile(
      file,
      JSON.stringify({
        listeners: [
          API,
          {
            name: 'uds-in',
            spec: { protocol: 'UnixDomainSocket', filename: socketPath },
            rules: [{ action: { route: { destination: { name: 'echo', spec: { protocol: 'Echo' } } } } }],
          },
        ],
      }),
    );
    bin = runBin(['-c', file]);
    await apiPort(bin);
    expect(existsSync(socketPath)).toBe(true);
    bin.child.kill('SIGINT');
    expect((await bin.exited).code).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  });

  it('requires the bearer token from --token-file, and warns when the API is exposed without one', async () => {
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, 'tok-123\n');
    const file = path.join(dir, 'token.yaml');
    await writeFile(file, JSON.stringify({ listeners: [API] }));
    bin = runBin(['-c', file, '--token-file', tokenFile]);
    const port = await apiPort(bin);
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/listeners`)).status).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${port}/api/v1/listeners`, {
      headers: { authorization: 'Bearer tok-123' },
    });
    expect(ok.status).toBe(200);
    expect(bin.stderr.join('\n')).not.toMatch(/without a token/);
    bin.child.kill('SIGTERM');
    await bin.exited;

    const exposed = path.join(dir, 'exposed.yaml');
    await writeFile(
      exposed,
      JSON.stringify({ listeners: [{ ...API, spec: { protocol: 'HTTP', port: 0 } }] }),
    );
    bin = runBin(['-c', exposed]);
    await bin.waitForLine(/listens on every interface:0 without a token/);
  });

  it('a missing token file is a clear start-up error', async () => {
    bin = runBin(['--token-file', path.join(dir, 'nope')]);
    expect((await bin.exited).code).toBe(1);
    expect(bin.stderr.join('\n')).toMatch(/cannot read the API token file .*nope/);
  });

  it('writes logs to admin.log_file and one access-log line per ended session', async () => {
    const logFile = path.join(dir, 'proxy.log');
    const accessLog = path.join(dir, 'access.log');
    const file = path.join(dir, 'logs.yaml');
    await writeFile(
      file,
      JSON.stringify({
        admin: { log_level: 'info', log_file: logFile, access_log_path: accessLog },
        listeners: [API],
      }),
    );
    bin = runBin(['-c', file]);
    // Logs go to the file, so wait for the API line there.
    let port: number | undefined;
    for (let attempt = 0; attempt < 100 && port === undefined; attempt++) {
      const text = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
      const line = text.split('\n').find((l) => l.includes('REST API ready'));
      if (line !== undefined) port = (JSON.parse(line) as { port: number }).port;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(port).toBeDefined();
    await (await fetch(`http://127.0.0.1:${port}/api/v1/admin`)).text();
    await (await fetch(`http://127.0.0.1:${port}/api/v1/listeners`)).text();
    bin.child.kill('SIGTERM');
    expect((await bin.exited).code).toBe(0);
    const lines = (await readFile(accessLog, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatchObject({
      listener: 'controller-listener',
      destination: 'l7mp-controller',
      status: 'ok',
    });
    expect(lines[0]?.bytes_out).toEqual(expect.any(Number));
    expect(bin.stderr).toEqual([]);
  });

  it('prints its version and help', async () => {
    bin = runBin(['--version']);
    expect((await bin.exited).code).toBe(0);
    expect(bin.stdout[0]).toMatch(/^\d+\.\d+\.\d+$/);
    bin = runBin(['--help']);
    expect((await bin.exited).code).toBe(0);
    expect(bin.stdout.join('\n')).toMatch(/-c, --config <file>/);
    bin = runBin(['--bogus']);
    expect((await bin.exited).code).toBe(2);
  });
});
