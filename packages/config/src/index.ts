export * from './errors';
export * from './schema/primitives';
export * from './schema/protocols';
export * from './schema/predicate';
export * from './schema/objects';
export * from './normalise';
export * from './parse';
export * from './crd';
