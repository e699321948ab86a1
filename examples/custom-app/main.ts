/**
 * Runs the bridge: `node --import tsx examples/custom-app/main.ts [udp-port] [ws-url]`, or with
 * BRIDGE_UDP_PORT and BRIDGE_UPSTREAM in the environment.
 */
import { pino } from 'pino';
import { startBridge } from './index';

const [portArg, upstreamArg] = process.argv.slice(2);
const udpPort = Number(portArg ?? process.env.BRIDGE_UDP_PORT ?? 9001);
const upstream = upstreamArg ?? process.env.BRIDGE_UPSTREAM ?? 'ws://127.0.0.1:8080/';

if (!Number.isInteger(udpPort) || udpPort < 0 || udpPort > 65535) {
  process.stderr.write(`custom-app: invalid UDP port ${JSON.stringify(portArg)}\n`);
  process.exit(2);
}

const logger = pino({ level: 'info' });
startBridge({ udpPort, upstream, logger }).then(
  (bridge) => {
    logger.info({ udpPort: bridge.udpPort, upstream }, 'bridge ready');
    const stop = (): void => {
      bridge.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  (error: unknown) => {
    process.stderr.write(`custom-app: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
