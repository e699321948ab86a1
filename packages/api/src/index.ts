export { ApiError, reasonPhrase, type ErrorBody } from './api-error';
export { bodyFormat, decodeBody, mediaType, type BodyFormat } from './request-body';
export { ROUTES, matchRoute, type ApiHandler, type ApiRequest, type Route, type RouteMatch } from './routes';
export {
  API_PREFIX,
  handleApiRequest,
  type ApiOptions,
  type ApiResponse,
  type RawApiRequest,
} from './handle-request';
export { openApiDocument } from './openapi';
export { l7mpControllerPlugin, MAX_API_BODY_BYTES } from './controller';
