// kubectl fetches /openapi/v2 before `apply` and `create` (client-side validation, strategic merge
// patches). It asks for the protobuf form and cannot read anything else, so this serves a minimal
// Swagger 2.0 document with no definitions: kubectl then skips validating kinds it has no schema
// for, which is every kind here. The server itself validates l7mp.io objects (422 Invalid).

const TITLE = 'l7mp dev-apiserver';
const VERSION = 'v1.30.0-l7mp-dev';

/** The JSON form, for clients that ask for application/json (curl, browsers). */
export function openApiV2Json(): Record<string, unknown> {
  return { swagger: '2.0', info: { title: TITLE, version: VERSION }, paths: {}, definitions: {} };
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

/** A length-delimited protobuf field (wire type 2): strings and embedded messages. */
function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(payload.length)]), payload]);
}

/**
 * The protobuf form (gnostic's openapi_v2.Document): field 1 `swagger`, field 2 `info` (an Info
 * with field 1 `title` and field 2 `version`). Empty paths and definitions are simply absent.
 */
export function openApiV2Protobuf(): Buffer {
  const info = Buffer.concat([
    lengthDelimited(1, Buffer.from(TITLE)),
    lengthDelimited(2, Buffer.from(VERSION)),
  ]);
  return Buffer.concat([lengthDelimited(1, Buffer.from('2.0')), lengthDelimited(2, info)]);
}

export const OPENAPI_V2_PROTOBUF_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
