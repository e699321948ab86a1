import { z } from 'zod';

/** Renders a value the way error messages quote it: strings in quotes, objects as compact JSON. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return String(value);
  }
}

const portMessage = (issue: { input?: unknown }) =>
  `expected an integer 1-65535, got ${describeValue(issue.input)}`;

/** A TCP/UDP port number. */
export const Port = z
  .int({ error: portMessage })
  .min(1, { error: portMessage })
  .max(65535, { error: portMessage })
  .describe('A port number, 1-65535');

const listenPortMessage = (issue: { input?: unknown }) =>
  `expected an integer 0-65535, got ${describeValue(issue.input)}`;

/** The port a listener binds: 0 asks the kernel for a free one (tests, dynamic setups). */
export const ListenPort = z
  .int({ error: listenPortMessage })
  .min(0, { error: listenPortMessage })
  .max(65535, { error: listenPortMessage })
  .describe('The local port to listen on, 0-65535 (0: any free port)');

/** A port that may also be 0 (let the kernel choose), used for local bind addresses. */
export const BindPort = z
  .int({ error: (i) => `expected an integer 0-65535, got ${describeValue(i.input)}` })
  .min(0)
  .max(65535)
  .describe('A local port number, 0-65535 (0: any)');

export const NonNegativeInt = z
  .int({ error: (i) => `expected a non-negative integer, got ${describeValue(i.input)}` })
  .min(0, { error: (i) => `expected a non-negative integer, got ${describeValue(i.input)}` });

export const PositiveInt = z
  .int({ error: (i) => `expected a positive integer, got ${describeValue(i.input)}` })
  .min(1, { error: (i) => `expected a positive integer, got ${describeValue(i.input)}` });

/** Object names: non-empty, no whitespace (anchor §1.1). */
export const ObjectName = z
  .string({ error: (i) => `expected a name (a string), got ${describeValue(i.input)}` })
  .regex(/^\S+$/, {
    error: (i) => `expected a non-empty name without whitespace, got ${describeValue(i.input)}`,
  })
  .describe('Object name: non-empty, no whitespace');

/** An IP address or host name. */
export const Address = z
  .string({ error: (i) => `expected an address (a string), got ${describeValue(i.input)}` })
  .min(1, { error: 'expected a non-empty address' })
  .describe('An IPv4/IPv6 address or a host name');

export const AddressPortPair = z
  .object({
    address: Address.optional(),
    port: Port.optional(),
  })
  .describe('A remote address and/or port');

export const BindSpec = z
  .object({
    address: Address.optional(),
    port: BindPort.optional(),
  })
  .describe('Local address and port to bind before connecting');

/** Message framing over a byte stream, so that datagram boundaries survive a byte-stream hop. */
export const Framing = z
  .enum(['none', 'length-prefixed', 'newline'], {
    error: (i) => `expected one of "none", "length-prefixed", "newline", got ${describeValue(i.input)}`,
  })
  .describe(
    'Framing of messages over a byte stream: none (raw bytes), length-prefixed (4-byte big-endian length), newline (one message per line)',
  );
export type Framing = z.infer<typeof Framing>;

/** Socket type of a Unix domain socket. */
export const UnixSocketMode = z
  .enum(['stream', 'seqpacket', 'dgram'], {
    error: (i) => `expected one of "stream", "seqpacket", "dgram", got ${describeValue(i.input)}`,
  })
  .describe('Unix domain socket type: stream (SOCK_STREAM), seqpacket (SOCK_SEQPACKET), dgram (SOCK_DGRAM)');
export type UnixSocketMode = z.infer<typeof UnixSocketMode>;
