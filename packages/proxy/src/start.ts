import { readFile } from 'node:fs/promises';
import { l7mpControllerPlugin } from '@l7mp/api';
import { AdminSchema, type ConfigDocument } from '@l7mp/config';
import { createProxy, type Logger, type Proxy, type TransportPlugin } from '@l7mp/core';
import { attachAccessLog } from './access-log';
import { apiListeners, isExposed, type ApiEndpoint } from './api-exposure';
import { createLogger } from './logging';
import { ALL_TRANSPORTS } from './transports';

/** The environment variable that may hold the REST API's bearer token. */
export const TOKEN_ENV = 'L7MP_API_TOKEN';

/** What runs when no config is given: the REST API on 127.0.0.1:1234 and nothing else. */
export function defaultConfig(address = '127.0.0.1', port = 1234): Record<string, unknown> {
  return {
    admin: { log_level: 'info' },
    listeners: [
      {
        name: 'controller-listener',
        spec: { protocol: 'HTTP', port, address },
        rules: [
          {
            action: {
              route: { destination: { name: 'l7mp-controller', spec: { protocol: 'L7mpController' } } },
            },
          },
        ],
      },
    ],
  };
}

export interface StartOptions {
  /** A parsed config document (YAML/JSON already decoded); defaults to defaultConfig(). */
  config?: unknown;
  /** Overrides `admin.log_level`. */
  logLevel?: string;
  /** Turns on strict REST validation (`admin.strict`). */
  strict?: boolean;
  /** A file holding the API bearer token; overrides `admin.token_file`. */
  tokenFile?: string;
  /** The token itself (e.g. from the environment); a token file wins over it. */
  token?: string;
  transports?: readonly TransportPlugin[];
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface RunningProxy {
  proxy: Proxy;
  logger: Logger;
  /** Where the REST API listens, as configured. */
  api: ApiEndpoint[];
  /** Ends every session, closes every socket (and socket file) and flushes the logs. */
  close(): Promise<void>;
}

/** A config with the command line's admin settings merged in, as the anchor does (§6.2). */
function withAdminOverrides(config: unknown, options: StartOptions): Record<string, unknown> {
  const document =
    config !== null && typeof config === 'object' && !Array.isArray(config)
      ? (config as Record<string, unknown>)
      : {};
  const admin =
    document.admin !== null && typeof document.admin === 'object' && !Array.isArray(document.admin)
      ? { ...(document.admin as Record<string, unknown>) }
      : {};
  if (options.logLevel !== undefined) admin.log_level = options.logLevel;
  if (options.strict === true) admin.strict = true;
  if (options.tokenFile !== undefined) admin.token_file = options.tokenFile;
  return { ...document, admin };
}

async function readToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the API token file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const token = text.trim();
  if (token === '') throw new Error(`the API token file ${file} is empty`);
  return token;
}

/**
 * Starts a proxy with every transport and the REST API. Throws (with every problem listed) if
 * the config is invalid or a listener cannot start; nothing is left running then.
 */
export async function startProxy(options: StartOptions = {}): Promise<RunningProxy> {
  const config = withAdminOverrides(options.config ?? defaultConfig(), options);
  const admin = AdminSchema.safeParse(config.admin);
  const adminSettings = admin.success ? admin.data : {};
  const logger =
    options.logger ?? createLogger({ level: adminSettings.log_level, logFile: adminSettings.log_file });
  const env = options.env ?? process.env;
  let token: string | undefined = options.token ?? env[TOKEN_ENV];
  if (adminSettings.token_file !== undefined) token = await readToken(adminSettings.token_file);

  // The controller plug-in is registered into the proxy it serves, so it reaches it through a holder.
  const holder: { proxy?: Proxy } = {};
  const controller = l7mpControllerPlugin(
    () => {
      if (holder.proxy === undefined) throw new Error('the proxy is not running yet');
      return holder.proxy;
    },
    { token: () => token },
  );
  const proxy = (holder.proxy = createProxy({
    transports: [...(options.transports ?? ALL_TRANSPORTS), controller],
    logger,
  }));
  try {
    await proxy.applyConfig(config);
  } catch (error) {
    await proxy.close();
    throw error;
  }
  const running = proxy;
  const stopAccessLog =
    adminSettings.access_log_path !== undefined
      ? attachAccessLog(running, adminSettings.access_log_path)
      : undefined;
  const api = apiListeners(running.dumpConfig() as ConfigDocument);
  for (const endpoint of api) {
    if (isExposed(endpoint.address) && (token === undefined || token === '')) {
      logger.warn(
        { listener: endpoint.listener, address: endpoint.address ?? '*', port: endpoint.port },
        `The REST API listens on ${endpoint.address ?? 'every interface'}:${endpoint.port} without a token: anyone who can reach it can reconfigure this proxy. Set admin.token_file, --token-file or ${TOKEN_ENV}, or bind it to 127.0.0.1.`,
      );
    }
  }
  let closing: Promise<void> | undefined;
  return {
    proxy: running,
    logger,
    api,
    close: () =>
      (closing ??= (async () => {
        await running.close();
        await stopAccessLog?.();
        logger.flush();
      })()),
  };
}
