/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time,
 * mapped back through the bundle's source map to the TypeScript file and line they come from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  functionName: string;
  location: string;
  selfMs: number;
  selfPercent: number;
}

const sourceMaps = new Map<string, SourceMap | undefined>();

function sourceMapFor(url: string): SourceMap | undefined {
  if (sourceMaps.has(url)) return sourceMaps.get(url);
  let map: SourceMap | undefined;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (file !== '' && existsSync(`${file}.map`)) {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
    }
  } catch {
    map = undefined;
  }
  sourceMaps.set(url, map);
  return map;
}

/** `packages/core/src/x.ts:12` for bundled code, `node:dgram:345` style for Node's own, as close as it gets. */
function locate(frame: CallFrame, root: string): string {
  if (frame.url === '') return '(native)';
  const map = sourceMapFor(frame.url);
  if (map !== undefined) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
    if ('originalSource' in entry && typeof entry.originalSource === 'string') {
      const source = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : path.resolve(path.dirname(fileURLToPath(frame.url)), entry.originalSource);
      return `${path.relative(root, source)}:${entry.originalLine + 1}`;
    }
  }
  const file = frame.url.startsWith('file://') ? path.relative(root, fileURLToPath(frame.url)) : frame.url;
  return `${file}:${frame.lineNumber + 1}`;
}

export function hotFunctions(profileFile: string, root: string, top: number): HotFunction[] {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { frame: CallFrame; us: number }>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const delta = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    const frame = node.callFrame;
    // Idle time is the event loop waiting in epoll: not work, so left out of the percentages.
    if (frame.functionName === '(idle)') continue;
    totalUs += delta;
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
    const entry = selfUs.get(key);
    if (entry === undefined) selfUs.set(key, { frame, us: delta });
    else entry.us += delta;
  }
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map(({ frame, us }) => ({
      functionName: frame.functionName === '' ? '(anonymous)' : frame.functionName,
      location: locate(frame, root),
      selfMs: us / 1000,
      selfPercent: totalUs === 0 ? 0 : (us / totalUs) * 100,
    }));
}
