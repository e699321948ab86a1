import type { Framing } from '@l7mp/config';
import { LengthPrefixedFramer } from './length-prefixed';
import { NewlineFramer } from './newline';
import { DEFAULT_MAX_MESSAGE_SIZE, type Framer, type FramerOptions } from './types';

export * from './types';
export { FramingError } from './errors';
export { LengthPrefixedFramer } from './length-prefixed';
export { NewlineFramer } from './newline';
export { NetSocketConduit, type NetSocketConduitOptions } from './net-socket-conduit';

/**
 * The framer for a listener's or cluster's `framing` setting, or undefined for a plain byte
 * stream (`none` or unset). Create it once per listener/cluster and a decoder per connection:
 *
 * ```ts
 * const framer = createFramer('length-prefixed');
 * socket.write(framer.encode(message));
 * const decoder = framer.createDecoder(onMessage, onError);
 * socket.on('data', (chunk) => decoder.push(chunk));
 * socket.on('end', () => decoder.end());
 * ```
 */
export function createFramer(framing: Framing | undefined, options: FramerOptions = {}): Framer | undefined {
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  switch (framing) {
    case 'length-prefixed':
      return new LengthPrefixedFramer(maxMessageSize);
    case 'newline':
      return new NewlineFramer(maxMessageSize);
    default:
      return undefined;
  }
}
