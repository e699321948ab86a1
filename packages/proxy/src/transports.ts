import type { TransportPlugin } from '@l7mp/core';
import { httpTransport } from '@l7mp/transport-http';
import { jsonSocketTransport } from '@l7mp/transport-jsonsocket';
import { tcpTransport } from '@l7mp/transport-tcp';
import { udpTransport } from '@l7mp/transport-udp';
import { udsTransport } from '@l7mp/transport-uds';
import { wsTransport } from '@l7mp/transport-ws';

/** Every protocol this repository implements. */
export const ALL_TRANSPORTS: readonly TransportPlugin[] = [
  udpTransport,
  tcpTransport,
  udsTransport,
  wsTransport,
  httpTransport,
  jsonSocketTransport,
];
