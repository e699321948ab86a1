export * from './selector';
export * from './schema';
export type { KeyConstraint } from './hints';
export * from './reference';
export * from './convert';
export * from './openapi';
export * from './structural';
export * from './manifests';
export * from './validate';
