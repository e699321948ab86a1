export { ingressRole, type IngressOptions } from './ingress';
export { ingressConfig, DEFAULT_METRICS_PORT, type IngressConfigOptions } from './config';
