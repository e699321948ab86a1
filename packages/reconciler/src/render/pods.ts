import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';

/** Annotation that overrides where a proxy pod's REST API is reached (`<host>:<port>`). */
export const API_ADDRESS_ANNOTATION = 'l7mp.io/api-address';

/** `<namespace>/<name>`: how pods are keyed everywhere in the reconciler. */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}

const isTerminating = (pod: V1Pod) =>
  pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null;

/** A pod that can run a proxy we can talk to: it has an IP, runs and is not being deleted. */
export function isLivePod(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return (
    typeof pod.status?.podIP === 'string' &&
    pod.status.podIP !== '' &&
    !isTerminating(pod) &&
    phase !== 'Succeeded' &&
    phase !== 'Failed'
  );
}

/** A pod that may receive traffic: live and its Ready condition is True (anchor bug §2.18.7 fixed). */
export function isPodReady(pod: V1Pod): boolean {
  if (!isLivePod(pod)) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Where the proxy in this pod serves its REST API. */
export function proxyApiAddress(pod: V1Pod, apiPort: number): string {
  const override = pod.metadata?.annotations?.[API_ADDRESS_ANNOTATION];
  if (override !== undefined && override.trim() !== '') {
    const trimmed = override.trim();
    return /^https?:\/\//.test(trimmed) ? trimmed.replace(/\/+$/, '') : `http://${trimmed}`;
  }
  const ip = pod.status?.podIP ?? '';
  return ip.includes(':') ? `http://[${ip}]:${apiPort}` : `http://${ip}:${apiPort}`;
}

/** UIDs and names of the ready pods behind an Endpoints object (notReadyAddresses do not count). */
export function readyTargetsOf(endpoints: V1Endpoints): { uids: Set<string>; names: Set<string> } {
  const uids = new Set<string>();
  const names = new Set<string>();
  for (const subset of endpoints.subsets ?? []) {
    for (const address of subset.addresses ?? []) {
      const ref = address.targetRef;
      if (ref === undefined || (ref.kind !== undefined && ref.kind !== 'Pod')) continue;
      if (ref.uid !== undefined) uids.add(ref.uid);
      if (ref.name !== undefined)
        names.add(`${ref.namespace ?? endpoints.metadata?.namespace ?? 'default'}/${ref.name}`);
    }
  }
  return { uids, names };
}
