import { defaultConfig } from './proxy-app';

/** The REST API port of every l7mp pod (the operator calls `http://<podIP>:1234`). */
export const DEFAULT_API_PORT = 1234;

/** The sidecar's default config: the REST API on the pod IP and nothing else until configured. */
export function sidecarConfig(apiAddress: string, apiPort = DEFAULT_API_PORT): Record<string, unknown> {
  return defaultConfig(apiAddress, apiPort);
}
