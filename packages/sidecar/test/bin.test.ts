import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SeqpacketServer, SeqpacketSocket } from 'node-unix-socket';
import { buildPackageBin, listenerReady, runBin, type RunningBin } from '@l7mp/sidecar/testing';

const PACKAGE_DIR = path.resolve(__dirname, '..');
let bin: string;
let dir: string;
let running: RunningBin | undefined;

async function api(
  base: string,
  route: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${route}`, init);
  return { status: response.status, body: (await response.json()) as unknown };
}

function post(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

async function startSidecar(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  running = runBin(bin, ['--api-port', '0', ...args], { POD_IP: '127.0.0.1', ...env });
  const bound = await listenerReady(running, 'controller-listener');
  return `http://${bound.address}:${bound.port}`;
}

beforeAll(async () => {
  bin = await buildPackageBin(PACKAGE_DIR, 'l7mp-sidecar');
  dir = await mkdtemp(path.join(tmpdir(), 'l7mp-sidecar-'));
}, 180_000);

afterEach(async () => {
  await running?.kill();
  running = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the l7mp-sidecar bin', () => {
  it('serves health, readiness and the REST API on POD_IP, with nothing else configured', async () => {
    const base = await startSidecar(['--pod-name', 'transcoder-1']);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await api(base, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await api(base, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    const listeners = await api(base, '/api/v1/listeners');
    expect(listeners.status).toBe(200);
    expect((listeners.body as { name: string }[]).map((l) => l.name)).toEqual(['controller-listener']);
    await running?.waitForLine(/"app":"l7mp-sidecar","pod":"transcoder-1","msg":"ready"/);
    running?.child.kill('SIGTERM');
    expect(await running?.exited).toEqual({ code: 0, signal: null });
  });

  it('merges an extra static config (-c) into its defaults', async () => {
    const file = path.join(dir, 'extra.yaml');
    await writeFile(
      file,
      [
        'listeners:',
        '  - name: udp-echo',
        '    spec: { protocol: UDP, port: 0, address: 127.0.0.1 }',
        '    rules:',
        '      - action: { route: { destination: { name: echo, spec: { protocol: Echo } } } }',
      ].join('\n'),
    );
    const base = await startSidecar(['-c', file]);
    const names = ((await api(base, '/api/v1/listeners')).body as { name: string }[]).map((l) => l.name);
    expect(names.sort()).toEqual(['controller-listener', 'udp-echo']);
    await listenerReady(running as RunningBin, 'udp-echo');
  });

  it('--listener-address binds listeners that name no address to it (local mode)', async () => {
    const base = await startSidecar(['--listener-address', '127.0.0.1']);
    const added = await api(
      base,
      '/api/v1/listeners',
      post({
        listener: {
          name: 'ws',
          spec: { protocol: 'WebSocket', port: 0 },
          rules: [{ action: { route: { destination: { name: 'echo', spec: { protocol: 'Echo' } } } } }],
        },
      }),
    );
    expect(added).toEqual({ status: 200, body: { status: 200, message: 'OK' } });
    const listener = (await api(base, '/api/v1/listeners/ws')).body as { bound: { address: string } };
    expect(listener.bound.address).toBe('127.0.0.1');
  });

  it('--uds-dir moves absolute socket paths of listeners and cluster endpoints into the directory', async () => {
    const udsDir = await mkdtemp(path.join(dir, 'pod-'));
    // The "app" of the pod: a SOCK_SEQPACKET echo at <udsDir>/app.sock.
    const app = new SeqpacketServer();
    app.on('connection', (socket: SeqpacketSocket) => {
      socket.on('data', (message: Buffer) => socket.write(Buffer.concat([Buffer.from('app: '), message])));
      socket.on('error', () => socket.destroy());
    });
    app.listen(path.join(udsDir, 'app.sock'));
    try {
      const base = await startSidecar(['--uds-dir', udsDir]);
      const cluster = await api(
        base,
        '/api/v1/clusters',
        post({
          cluster: {
            name: 'app',
            spec: { protocol: 'UnixDomainSocket', filename: '/tmp/app.sock', mode: 'seqpacket' },
            endpoints: [{ name: 'app-ep', spec: { address: '/tmp/app.sock' } }],
          },
        }),
      );
      expect(cluster.status).toBe(200);
      const listener = await api(
        base,
        '/api/v1/listeners',
        post({
          listener: {
            name: 'in',
            spec: { protocol: 'UnixDomainSocket', filename: '/tmp/l7mp-in.sock', mode: 'seqpacket' },
            rules: [{ action: { route: { destination: 'app' } } }],
          },
        }),
      );
      expect(listener.status).toBe(200);
      const inbound = path.join(udsDir, 'l7mp-in.sock');
      expect(existsSync(inbound)).toBe(true);
      expect(existsSync('/tmp/l7mp-in.sock')).toBe(false);

      const client = new SeqpacketSocket();
      try {
        const reply = new Promise<Buffer>((resolve, reject) => {
          client.once('data', resolve);
          client.once('error', reject);
        });
        client.connect(inbound, () => client.write(Buffer.from('hello')));
        expect((await reply).toString()).toBe('app: hello');
      } finally {
        client.destroy();
      }
    } finally {
      app.close();
    }
  });

  it('reports a config file with problems and exits 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      'listeners:\n  - name: x\n    spec: { protocol: UDP, port: nope }\n    rules: []\n',
    );
    running = runBin(bin, ['-c', file], { POD_IP: '127.0.0.1' });
    expect((await running.exited).code).toBe(1);
    expect(running.stderr.join('\n')).toMatch(/bad\.yaml: listeners\[0\]\.spec\.port: expected an integer/);
  });

  it('reports a listener that cannot start and exits 1', async () => {
    const base = await startSidecar([]);
    const port = Number(new URL(base).port);
    // A second sidecar on the same API address and port cannot bind.
    const second = runBin(bin, ['--api-port', String(port)], { POD_IP: '127.0.0.1' });
    try {
      expect((await second.exited).code).toBe(1);
      expect(second.stderr.join('\n')).toMatch(/EADDRINUSE/);
      expect(second.stderr.at(-1)).toBe('l7mp-sidecar: could not start; nothing is running');
    } finally {
      await second.kill();
    }
  });

  it('prints help and version, and rejects bad flags with exit code 2', async () => {
    running = runBin(bin, ['--help']);
    expect((await running.exited).code).toBe(0);
    const help = running.stdout.join('\n');
    for (const flag of [
      '--api-address',
      '--api-port',
      '--token-file',
      '-l, --log-level',
      '-c, --config',
      '--uds-dir',
    ]) {
      expect(help).toContain(flag);
    }
    running = runBin(bin, ['--version']);
    expect((await running.exited).code).toBe(0);
    expect(running.stdout).toEqual(['0.1.0']);
    for (const args of [['--bogus'], ['--api-port', 'abc'], ['--api-port', '70000'], ['-l', 'loud']]) {
      running = runBin(bin, args);
      expect((await running.exited).code).toBe(2);
    }
  });

  it('requires the bearer token from --token-file', async () => {
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, 'secret-1\n');
    const base = await startSidecar(['--token-file', tokenFile]);
    expect((await api(base, '/api/v1/listeners')).status).toBe(401);
    const ok = await fetch(`${base}/api/v1/listeners`, { headers: { authorization: 'Bearer secret-1' } });
    expect(ok.status).toBe(200);
    await ok.text();
  });
});
