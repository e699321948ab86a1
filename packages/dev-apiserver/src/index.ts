export {
  DevApiServer,
  ApiStatusError,
  mergePatch,
  type DevApiServerOptions,
  type WatchEventType,
} from './server';
export { builtinResources, resourcesOfCrd, type ResourceType } from './resources';
export {
  parseLabelSelector,
  parseFieldSelector,
  labelsMatch,
  fieldsMatch,
  SelectorSyntaxError,
} from './selectors';
