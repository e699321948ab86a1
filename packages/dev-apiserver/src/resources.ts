import { crdManifests, validateManifest } from '@l7mp/config';
import type { PrinterColumn } from './table';

/** One kind of object the server stores. */
export interface ResourceType {
  readonly group: string; // '' for the core group
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Has a /status subresource: updates of the main resource keep the stored status. */
  readonly statusSubresource: boolean;
  /** The CRD's `additionalPrinterColumns` (kubectl get); without them: Name and Age. */
  readonly printerColumns?: readonly PrinterColumn[];
  /** Checks a create/update body; returns problems (empty: valid). */
  readonly validate?: (body: Record<string, unknown>) => string[];
}

export const groupVersionOf = (t: ResourceType) => (t.group === '' ? t.version : `${t.group}/${t.version}`);
export const resourceId = (t: ResourceType) => `${t.group}/${t.version}/${t.plural}`;

const core = (
  plural: string,
  singular: string,
  kind: string,
  statusSubresource: boolean,
  shortNames: string[] = [],
  namespaced = true,
): ResourceType => ({
  group: '',
  version: 'v1',
  plural,
  singular,
  kind,
  namespaced,
  shortNames,
  statusSubresource,
});

/** The kinds served from the start; CRDs add more. */
export function builtinResources(): ResourceType[] {
  return [
    core('pods', 'pod', 'Pod', true, ['po']),
    core('services', 'service', 'Service', true, ['svc']),
    core('endpoints', 'endpoints', 'Endpoints', false, ['ep']),
    core('events', 'event', 'Event', false, ['ev']),
    core('secrets', 'secret', 'Secret', false),
    core('configmaps', 'configmap', 'ConfigMap', false, ['cm']),
    core('namespaces', 'namespace', 'Namespace', true, ['ns'], false),
    {
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      singular: 'lease',
      kind: 'Lease',
      namespaced: true,
      shortNames: [],
      statusSubresource: false,
    },
    {
      group: 'apiextensions.k8s.io',
      version: 'v1',
      plural: 'customresourcedefinitions',
      singular: 'customresourcedefinition',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      statusSubresource: true,
    },
  ];
}

interface CrdLike {
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; singular?: string; kind?: string; shortNames?: string[] };
    versions?: {
      name?: string;
      served?: boolean;
      subresources?: { status?: unknown };
      additionalPrinterColumns?: PrinterColumn[];
    }[];
  };
}

const isPrinterColumn = (c: unknown): c is PrinterColumn =>
  typeof c === 'object' &&
  c !== null &&
  typeof (c as PrinterColumn).name === 'string' &&
  typeof (c as PrinterColumn).jsonPath === 'string' &&
  typeof (c as PrinterColumn).type === 'string';

/** The kinds a CustomResourceDefinition object declares (one per served version). */
export function resourcesOfCrd(crd: unknown): ResourceType[] {
  const spec = (crd as CrdLike).spec;
  const names = spec?.names;
  if (spec?.group === undefined || names?.plural === undefined || names.kind === undefined) return [];
  const isL7mp = spec.group === 'l7mp.io';
  return (spec.versions ?? [])
    .filter((v) => v.served !== false && typeof v.name === 'string')
    .map((v) => ({
      group: spec.group as string,
      version: v.name as string,
      plural: names.plural as string,
      singular: names.singular ?? (names.kind as string).toLowerCase(),
      kind: names.kind as string,
      namespaced: spec.scope !== 'Cluster',
      shortNames: names.shortNames ?? [],
      statusSubresource: v.subresources?.status !== undefined,
      ...(Array.isArray(v.additionalPrinterColumns)
        ? { printerColumns: v.additionalPrinterColumns.filter(isPrinterColumn) }
        : {}),
      ...(isL7mp
        ? {
            validate: (body: Record<string, unknown>) =>
              validateManifest(body).map(
                (i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`,
              ),
          }
        : {}),
    }));
}

/** The l7mp.io/v1 CRDs, as @l7mp/config generates them. */
export const l7mpCrds = (): unknown[] => crdManifests();
