import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  buildBins,
  randomSubnet,
  REPO_ROOT,
  sendSeedMessages,
  startTopology,
  type Topology,
} from '../../../scripts/demo';

/**
 * Task1 of the seed as `npm run demo` runs it: every pod a set of real processes on its own
 * loopback address. A random 127.x.y.0/24 keeps parallel runs apart.
 */
const BIN_DIR = path.join(REPO_ROOT, 'node_modules/.cache', `l7mp-demo-test-${process.pid}`);

beforeAll(async () => {
  await buildBins({ outDir: BIN_DIR });
}, 180_000);

afterAll(async () => {
  await rm(BIN_DIR, { recursive: true, force: true });
});

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGINT'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the task1 demo (scripts/demo.ts)', () => {
  it('--once prints the seed replies, exits 0 and leaves nothing behind', async () => {
    const result = await runDemo(['--once', '--bin-dir', BIN_DIR, '--subnet', `${randomSubnet()}.0/24`]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    for (const message of ['This is a test!', "Hurray it's working!"]) {
      const at = lines.indexOf(message);
      expect(at).toBeGreaterThan(0);
      expect(lines[at + 1]).toMatch(
        new RegExp(
          `^Echo on worker-deployment-\\w+-\\w+: Transcoded on transcoder-deployment-\\w+-\\w+: ${message}$`,
        ),
      );
    }
    expect(result.stdout).toMatch(/REST API: http:\/\/127\.\d+\.\d+\.10:1234\/api\/v1/);
    const runDir = /Logs and sockets: (\S+)/.exec(result.stdout)?.[1];
    expect(runDir).toBeDefined();
    expect(existsSync(runDir as string)).toBe(false);
  }, 90_000);

  it('rejects a subnet outside 127.0.0.0/8 with exit code 1', async () => {
    const result = await runDemo(['--once', '--bin-dir', BIN_DIR, '--subnet', '10.0.0.0/24']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--subnet: expected a \/24 inside 127\.0\.0\.0\/8/);
  }, 30_000);

  describe('with the topology running', () => {
    let topology: Topology | undefined;

    beforeAll(async () => {
      topology = await startTopology({ subnet: randomSubnet(), binDir: BIN_DIR });
    }, 60_000);

    afterAll(async () => {
      const runDir = topology?.runDir;
      await topology?.stop();
      if (runDir !== undefined) expect(existsSync(runDir)).toBe(false);
    }, 30_000);

    it('answers the seed messages', async () => {
      const results = await sendSeedMessages(topology as Topology);
      expect(results.map((r) => r.ok)).toEqual([true, true]);
    });

    it('carries 1000 datagrams of 1-1400 bytes with their boundaries intact, one reply each, in order', async () => {
      const { gateway } = topology as Topology;
      const client = createSocket('udp4');
      client.bind(0, '127.0.0.1');
      await once(client, 'listening');
      const prefix = /^Echo on worker-deployment-[\w-]+: Transcoded on transcoder-deployment-[\w-]+: /;
      const count = 1000;
      const window = 4;
      const sent: Buffer[] = [];
      try {
        await new Promise<void>((resolve, reject) => {
          let received = 0;
          const timer = setTimeout(
            () => reject(new Error(`only ${received} of ${count} replies within 40 s`)),
            40_000,
          );
          const fail = (message: string) => {
            clearTimeout(timer);
            reject(new Error(message));
          };
          const sendNext = () => {
            const payload = randomBytes(randomInt(1, 1401));
            sent.push(payload);
            client.send(payload, gateway.port, gateway.address);
          };
          client.on('message', (reply: Buffer) => {
            const expected = sent[received];
            const head = prefix.exec(reply.subarray(0, 160).toString('latin1'));
            if (expected === undefined || head === null) {
              return fail(`unexpected reply #${received}: ${reply.subarray(0, 100).toString('latin1')}`);
            }
            const body = reply.subarray(head[0].length);
            if (!body.equals(expected)) {
              return fail(
                `reply #${received} carries ${body.length} bytes, datagram #${received} had ${expected.length}`,
              );
            }
            received++;
            if (received === count) {
              clearTimeout(timer);
              resolve();
            } else if (sent.length < count) sendNext();
          });
          for (let i = 0; i < window; i++) sendNext();
        });
      } finally {
        client.close();
      }
      expect(sent).toHaveLength(count);
    }, 60_000);
  });
});
