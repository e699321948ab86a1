export * from './transport/types';
export * from './transport/base-conduit';
export * from './logger';
export * from './metrics/stats';
export * from './errors';
export * from './framing';
export * from './leaf-exports';
export * from './engine-exports';
