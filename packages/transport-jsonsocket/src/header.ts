import type { z } from 'zod';
import type { JSONSocketHeaderEntry } from '@l7mp/config';
import { getAtPath, setAtPath, type SessionMetadata } from '@l7mp/core';

/** The protocol version this package speaks; the only one there is. */
export const JSONSOCKET_VERSION = 1;

export type HeaderEntry = z.infer<typeof JSONSocketHeaderEntry>;
export type JSONObject = Record<string, unknown>;

export interface ResponseHeader {
  JSONSocketVersion: number;
  JSONSocketStatus: number;
  JSONSocketMessage: string;
}

export function isJSONObject(value: unknown): value is JSONObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The server's answer to a request header, as one message. */
export function encodeResponse(status: number, message: string): Buffer {
  const header: ResponseHeader = {
    JSONSocketVersion: JSONSOCKET_VERSION,
    JSONSocketStatus: status,
    JSONSocketMessage: message,
  };
  return Buffer.from(JSON.stringify(header));
}

export const OK_RESPONSE = encodeResponse(200, 'OK');

/** `message: content` as the anchor wrote routing failures into the header. */
export function describeFailure(message: string, content: unknown): string {
  if (content === undefined || content === null || content === '') return message;
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  return `${message}: ${text}`;
}

export type RequestVerdict =
  { ok: true; header: JSONObject } | { ok: false; status: number; message: string };

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Checks a client's request header (the first message of a connection). */
export function parseRequestHeader(message: Buffer): RequestVerdict {
  let header: unknown;
  try {
    header = JSON.parse(message.toString('utf8'));
  } catch {
    return { ok: false, status: 400, message: 'Bad Request: Invalid JSON header' };
  }
  if (!isJSONObject(header)) {
    return {
      ok: false,
      status: 400,
      message: `Bad Request: the header must be a JSON object, got ${show(header)}`,
    };
  }
  const version = header.JSONSocketVersion;
  if (version === undefined) {
    return { ok: false, status: 400, message: 'Bad Request: the header has no JSONSocketVersion' };
  }
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return {
      ok: false,
      status: 400,
      message: `Bad Request: JSONSocketVersion must be an integer, got ${show(version)}`,
    };
  }
  if (version !== JSONSOCKET_VERSION) {
    return {
      ok: false,
      status: 505,
      message: `Version Not Supported: JSONSocketVersion ${version} is not supported, only ${JSONSOCKET_VERSION}`,
    };
  }
  return { ok: true, header };
}

/** Checks a server's response header; returns what is wrong with it, or undefined if it accepts. */
export function checkResponseHeader(message: Buffer): { problem: string; status: number } | undefined {
  let header: unknown;
  try {
    header = JSON.parse(message.toString('utf8'));
  } catch {
    return { problem: 'invalid JSON in the response header', status: 502 };
  }
  if (!isJSONObject(header))
    return { problem: `the response header is not a JSON object: ${show(header)}`, status: 502 };
  const version = header.JSONSocketVersion;
  if (version === undefined) return { problem: 'the response header has no JSONSocketVersion', status: 502 };
  if (version !== JSONSOCKET_VERSION) {
    return { problem: `unsupported JSONSocketVersion ${show(version)} in the response header`, status: 502 };
  }
  const status = header.JSONSocketStatus;
  if (status === undefined) return { problem: 'the response header has no JSONSocketStatus', status: 502 };
  if (typeof status !== 'number' || !Number.isInteger(status)) {
    return { problem: `JSONSocketStatus must be an integer, got ${show(status)}`, status: 502 };
  }
  if (status < 200 || status > 299) {
    const text = typeof header.JSONSocketMessage === 'string' ? `: ${header.JSONSocketMessage}` : '';
    return {
      problem: `the server refused the connection with JSONSocketStatus ${status}${text}`,
      status: status >= 400 && status <= 599 ? status : 502,
    };
  }
  return undefined;
}

/**
 * Builds a client's request header from the cluster's `header` entries (anchor §2.5), in order:
 * `{path: from}` copies the metadata at `from` to the root (merging an object into the header),
 * `{path: {from, to}}` copies it to `to`, `{set: {key, value}}` sets a constant. Unlike the
 * anchor, falsy values (0, false, '') are copied too; only a missing path is skipped.
 */
export function buildRequestHeader(
  entries: readonly HeaderEntry[],
  metadata: SessionMetadata,
  onMissing: (path: string) => void,
): JSONObject {
  let header: unknown = {};
  for (const entry of entries) {
    if ('path' in entry) {
      const from = typeof entry.path === 'string' ? entry.path : entry.path.from;
      const to = typeof entry.path === 'string' ? '/' : entry.path.to;
      const value = getAtPath(metadata, from);
      if (value === undefined) {
        onMissing(from);
        continue;
      }
      header = setAtPath(header, to, value);
    } else if ('set' in entry) {
      header = setAtPath(header, entry.set.key, entry.set.value);
    } else {
      throw new Error(`unknown header entry ${show(entry)}`);
    }
  }
  if (!isJSONObject(header))
    throw new Error(`the header built from spec.header is not a JSON object: ${show(header)}`);
  header.JSONSocketVersion = JSONSOCKET_VERSION;
  return header;
}
