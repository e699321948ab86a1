import { createSocket } from 'node:dgram';
import type { Topology } from './topology';

/** The messages of the seed's Test section. */
export const SEED_MESSAGES = ['This is a test!', "Hurray it's working!"] as const;
const REPLY_TIMEOUT_MS = 5000;

export interface SeedExchange {
  message: string;
  /** Undefined when nothing came back in time. */
  reply: string | undefined;
  ok: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `reply` is what task1 promises: a worker's echo of a transcoder's echo of `message`. */
/** What the check needs of a running task1: who may answer, and where the gateway is. */
export interface SeedTarget {
  readonly pods: readonly { readonly name: string; readonly role: string }[];
  readonly gateway: Topology['gateway'];
}

export function isSeedReply(reply: string, message: string, topology: Pick<SeedTarget, 'pods'>): boolean {
  const names = (role: string) =>
    topology.pods
      .filter((pod) => pod.role === role)
      .map((pod) => escapeRegExp(pod.name))
      .join('|');
  return new RegExp(
    `^Echo on (${names('worker')}): Transcoded on (${names('transcoder')}): ${escapeRegExp(message)}$`,
  ).test(reply);
}

/**
 * Sends the seed's messages over UDP to the gateway from one client socket (one session, like
 * `socat - udp4:<gateway>:9001`), one at a time, and reports what came back.
 */
export async function sendSeedMessages(topology: SeedTarget): Promise<SeedExchange[]> {
  const socket = createSocket('udp4');
  const replies: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (reply: Buffer) => {
    replies.push(reply.toString('utf8'));
    wake?.();
  });
  socket.on('error', () => {}); // an ICMP "port unreachable" shows up as a missing reply
  const results: SeedExchange[] = [];
  try {
    for (const message of SEED_MESSAGES) {
      const before = replies.length;
      const arrived = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, REPLY_TIMEOUT_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      socket.send(message, topology.gateway.port, topology.gateway.address);
      await arrived;
      wake = undefined;
      const reply = replies.length > before ? replies[before] : undefined;
      results.push({ message, reply, ok: reply !== undefined && isSeedReply(reply, message, topology) });
    }
  } finally {
    socket.close();
  }
  return results;
}
