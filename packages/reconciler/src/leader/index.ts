export * from './elector';
