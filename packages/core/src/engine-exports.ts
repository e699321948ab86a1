// The engine's public API: the proxy, its object store dumps, sessions and the protocol registry.
export { createProxy, Proxy, PROXY_VERSION } from './proxy';
export type { AdminDump, DeleteOptions, ProxyOptions } from './proxy';
export { ProxyEvents } from './proxy-events';
export type { ObjectEventKind, ProxyEventCallback, ProxyEventMap, ProxyEventName } from './proxy-events';
export { TransportRegistry } from './registry';
export { Session, SessionEndedError, SESSION_LINGER_MS } from './session/session';
export type { SessionEvent, SessionStatus } from './session/session';
export { Stage, DETACHED } from './session/stage';
export type { StageRole, StageStatus } from './session/stage';
export { lookupRoute, RuleLoopError } from './session/lookup';
export type { LookupMatch } from './session/lookup';
export type { DumpOptions } from './store/dump';
export type { ReplaceSummary } from './store/plan';
