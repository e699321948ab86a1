export {
  DevApiServer,
  ApiStatusError,
  mergePatch,
  withoutDirectives,
  type DevApiServerOptions,
  type WatchEventType,
  type ChangeEvent,
  type ChangeListener,
} from './server';
export { builtinResources, resourcesOfCrd, type ResourceType } from './resources';
export {
  parseLabelSelector,
  parseFieldSelector,
  labelsMatch,
  fieldsMatch,
  SelectorSyntaxError,
} from './selectors';
export {
  buildTable,
  parseJsonPath,
  evaluateJsonPath,
  humanAge,
  JsonPathError,
  type PrinterColumn,
} from './table';
export { openApiV2Json, openApiV2Protobuf } from './openapi';
