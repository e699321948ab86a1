import { describe, expect, it } from '@jest/globals';
import {
  canonicalObjectName,
  InvalidReferenceError,
  parseReference,
  parseReferenceOfKind,
  resolveReference,
} from '@l7mp/config';

describe('references to custom resources', () => {
  const context = { kind: 'Target', namespace: 'default' } as const;

  it('resolves the selfLink, canonical and bare forms to the same object and proxy name', () => {
    const forms = [
      '/apis/l7mp.io/v1/namespaces/default/targets/udp-cluster',
      '/l7mp.io/v1/Target/default/udp-cluster',
      'udp-cluster',
    ];
    for (const ref of forms) {
      expect(parseReference(ref, context)).toEqual({
        kind: 'Target',
        namespace: 'default',
        name: 'udp-cluster',
      });
      expect(resolveReference(ref, context)).toBe('/l7mp.io/v1/Target/default/udp-cluster');
    }
    expect(canonicalObjectName('Target', 'default', 'udp-cluster')).toBe(
      '/l7mp.io/v1/Target/default/udp-cluster',
    );
  });

  it('resolves every kind in both long forms', () => {
    expect(parseReference('/apis/l7mp.io/v1/namespaces/prod/virtualservices/gw', context)).toEqual({
      kind: 'VirtualService',
      namespace: 'prod',
      name: 'gw',
    });
    expect(parseReference('/l7mp.io/v1/Rule/prod/r1', context)).toEqual({
      kind: 'Rule',
      namespace: 'prod',
      name: 'r1',
    });
    expect(parseReference('/apis/l7mp.io/v1/namespaces/prod/rules/r1', context)).toEqual({
      kind: 'Rule',
      namespace: 'prod',
      name: 'r1',
    });
  });

  it('puts a bare name in the referring namespace with the default kind', () => {
    expect(parseReference('transcoder-vsvc', { kind: 'VirtualService', namespace: 'media' })).toEqual({
      kind: 'VirtualService',
      namespace: 'media',
      name: 'transcoder-vsvc',
    });
  });

  it.each([
    ['', 'a reference must be a non-empty string'],
    ['udp cluster', 'a reference cannot contain whitespace'],
    [
      '/apis/l7mp.io/v1/namespaces/default/pods/p1',
      'unknown resource "pods", expected one of virtualservices, targets, rules',
    ],
    [
      '/apis/l7mp.io/v1/namespaces/default/targets',
      'expected /apis/l7mp.io/v1/namespaces/<namespace>/<plural>/<name>',
    ],
    ['/l7mp.io/v1/Cluster/default/x', 'unknown kind "Cluster", expected one of VirtualService, Target, Rule'],
    ['/l7mp.io/v1/Target/default/x/y', 'expected /l7mp.io/v1/<Kind>/<namespace>/<name>'],
    [
      '/l7mp.io/v2/Target/default/x',
      'expected a bare name, /l7mp.io/v1/<Kind>/<namespace>/<name> or /apis/l7mp.io/v1/namespaces/<namespace>/<plural>/<name>',
    ],
    ['Udp_Cluster', '"Udp_Cluster" is not a valid object name (lowercase DNS subdomain)'],
    ['/l7mp.io/v1/Target/Default/x', '"Default" is not a valid namespace name'],
  ])('rejects %j: %s', (ref, reason) => {
    const path = ['spec', 'listener', 'rules', 0, 'action', 'route', 'destinationRef'];
    let caught: unknown;
    try {
      parseReference(ref, { ...context, path });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidReferenceError);
    const error = caught as InvalidReferenceError;
    expect(error.reason).toBe(reason);
    expect(error.path).toEqual(path);
    expect(error.message).toBe(
      `spec.listener.rules[0].action.route.destinationRef: invalid reference ${JSON.stringify(ref)}: ${reason}`,
    );
  });

  it('insists on the kind where the place needs one', () => {
    expect(() =>
      parseReferenceOfKind('/l7mp.io/v1/VirtualService/default/gw', { kind: 'Target', namespace: 'default' }),
    ).toThrow(
      'invalid reference "/l7mp.io/v1/VirtualService/default/gw": must name a Target, not a VirtualService',
    );
  });
});
