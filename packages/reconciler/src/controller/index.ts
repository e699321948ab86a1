export * from './reconciler';
export * from './queue';
export * from './informer';
export * from './programmed';
