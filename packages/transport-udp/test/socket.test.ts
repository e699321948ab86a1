import { describe, expect, it } from '@jest/globals';
import { literalFirstLookup } from '../src/socket';

type Answer = { error: Error | null; address: string; family: number; sync: boolean };

function resolve(hostname: string): Promise<Answer> {
  return new Promise((done) => {
    let returned = false;
    literalFirstLookup(hostname, {}, (error, address, family) => {
      done({ error, address: String(address), family: Number(family), sync: !returned });
    });
    returned = true;
  });
}

describe('literalFirstLookup', () => {
  it('answers IPv4 and IPv6 literals synchronously with their family, also when they alternate', async () => {
    for (const [hostname, family] of [
      ['127.0.0.1', 4],
      ['127.0.0.1', 4],
      ['::1', 6],
      ['127.0.0.2', 4],
      ['::1', 6],
      ['::1', 6],
    ] as const) {
      expect(await resolve(hostname)).toEqual({ error: null, address: hostname, family, sync: true });
    }
  });

  it('hands a host name to dns.lookup (asynchronously), not to the literal memo', async () => {
    await resolve('127.0.0.1');
    const answer = await resolve('localhost');
    expect(answer.error).toBeNull();
    expect(answer.sync).toBe(false);
    expect([4, 6]).toContain(answer.family);
    expect(['127.0.0.1', '::1']).toContain(answer.address);
  });

  it('reports a name that does not resolve as an error', async () => {
    const answer = await resolve('no-such-host.invalid');
    expect(answer.error).not.toBeNull();
    expect((answer.error as NodeJS.ErrnoException).code).toMatch(/^(ENOTFOUND|EAI_AGAIN|EAI_FAIL)$/);
  });
});
