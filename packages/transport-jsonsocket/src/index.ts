import type { TransportPlugin } from '@l7mp/core';
import { JSONSocketCluster } from './cluster';
import { JSONSocketListener } from './listener';

export { JSONSocketListener, JSONSocketTransportError, DEFAULT_HEADER_TIMEOUT_MS } from './listener';
export { JSONSocketCluster } from './cluster';
export { JSONSocketConduit, type HeaderWait } from './conduit';
export {
  JSONSOCKET_VERSION,
  buildRequestHeader,
  checkResponseHeader,
  encodeResponse,
  parseRequestHeader,
  type HeaderEntry,
  type RequestVerdict,
  type ResponseHeader,
} from './header';

/** The JSONSocket transport (protocol `JSONSocket`): listener and cluster over an inner message transport. */
export const jsonSocketTransport: TransportPlugin = {
  name: 'jsonsocket',
  listeners: [{ protocol: 'JSONSocket', create: (context) => new JSONSocketListener(context) }],
  clusters: [{ protocol: 'JSONSocket', create: (context) => new JSONSocketCluster(context) }],
};
