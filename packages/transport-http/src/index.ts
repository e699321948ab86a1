import type { TransportPlugin } from '@l7mp/core';
import { HttpListener } from './listener';

export { HttpListener } from './listener';
export { ListenError } from '@l7mp/core';
export { HttpConduit, HttpAbortedError } from './conduit';
export { sendJsonResult } from './response';
export { parseRequestTarget, type HttpMetadata, type HttpUrlMetadata } from '@l7mp/core';

/** The HTTP transport (protocol `HTTP`): a listener only; there is no HTTP cluster. */
export const httpTransport: TransportPlugin = {
  name: 'http',
  listeners: [{ protocol: 'HTTP', create: (context) => new HttpListener(context) }],
};
