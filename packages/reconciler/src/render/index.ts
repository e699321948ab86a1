export * from './types';
export * from './pods';
export * from './selector';
export * from './render';
