export * from './client';
export * from './merge';
export * from './sync';
export * from './backoff';
