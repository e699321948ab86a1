import type { AppRole } from './app';
import { sidecarConfig } from './config';

/** The sidecar role: the REST API on the pod IP, nothing else until the operator configures it. */
export const sidecarRole: AppRole = {
  name: 'l7mp-sidecar',
  description:
    'The l7mp sidecar proxy: serves the REST API on the pod IP (port 1234) and nothing else until configured.',
  defaultConfig: (options) => sidecarConfig(options.apiAddress, options.apiPort),
};
