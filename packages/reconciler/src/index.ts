export * from './render';
export * from './sync';
export * from './controller';
export * from './leader';
export * from './logger';
