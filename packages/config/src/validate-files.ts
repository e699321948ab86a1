import { readFile } from 'node:fs/promises';
import { formatPath, type ConfigIssue, type ObjectPath } from './errors';
import { validateManifest as validateCrdManifest } from './crd';
import { formatOfFile, parseDocument, parseDocuments } from './parse';
import { validateConfig } from './validate';

/** The l7mp.io/v1 resources whose manifests are checked with the CRD schemas. */
export const L7MP_API_VERSION = 'l7mp.io/v1';
export const L7MP_KINDS = ['VirtualService', 'Target', 'Rule'] as const;

/** Signature of the CRD manifest validator (`validateManifest` of `./crd`); injectable for tests. */
export type ManifestValidator = (doc: unknown) => ConfigIssue[];

export interface ValidationMessage {
  severity: 'error' | 'note';
  file: string;
  /** 1-based document number; set only for files holding more than one document. */
  document?: number;
  path: ObjectPath;
  message: string;
}

export interface FileValidationResult {
  file: string;
  /** Number of documents found in the file. */
  documents: number;
  messages: ValidationMessage[];
}

/** `<file>: document <n>: <path>: <message>`, leaving out the parts that do not apply. */
export function formatValidationMessage(m: ValidationMessage): string {
  const parts = [m.file];
  if (m.document !== undefined) parts.push(`document ${m.document}`);
  const where = formatPath(m.path);
  if (where !== '') parts.push(where);
  parts.push(m.severity === 'note' ? `note: ${m.message}` : m.message);
  return parts.join(': ');
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

type DocumentKind = { type: 'proxy-config' } | { type: 'l7mp-manifest' } | { type: 'other'; label: string };

/** A Kubernetes object has apiVersion and kind; anything else is taken for a proxy config. */
export function classifyDocument(doc: unknown): DocumentKind {
  if (!isRecord(doc) || (doc.apiVersion === undefined && doc.kind === undefined))
    return { type: 'proxy-config' };
  const kind = typeof doc.kind === 'string' ? doc.kind : undefined;
  if (
    doc.apiVersion === L7MP_API_VERSION &&
    kind !== undefined &&
    (L7MP_KINDS as readonly string[]).includes(kind)
  ) {
    return { type: 'l7mp-manifest' };
  }
  return { type: 'other', label: `${kind ?? '<no kind>'} (${String(doc.apiVersion ?? '<no apiVersion>')})` };
}

/** Checks one parsed document and returns its problems (or the note why it was skipped). */
export function validateDocument(
  doc: unknown,
  validateManifest: ManifestValidator = validateCrdManifest,
): { severity: ValidationMessage['severity']; path: ObjectPath; message: string }[] {
  const kind = classifyDocument(doc);
  switch (kind.type) {
    case 'proxy-config':
      return validateConfig(doc).map((i) => ({ severity: 'error', ...i }));
    case 'l7mp-manifest':
      return validateManifest(doc).map((i) => ({ severity: 'error', ...i }));
    case 'other':
      return [
        {
          severity: 'note',
          path: [],
          message: `skipped ${kind.label}: neither an l7mp proxy config nor an ${L7MP_API_VERSION} ${L7MP_KINDS.join('/')}`,
        },
      ];
  }
}

function readDocuments(text: string, file: string): unknown[] {
  if (formatOfFile(file) === 'json') return [parseDocument(text, 'json', file)];
  return parseDocuments(text, file);
}

/** Validates one file: a proxy config (YAML or JSON) or a multi-document Kubernetes manifest. */
export async function validateFile(
  file: string,
  validateManifest: ManifestValidator = validateCrdManifest,
): Promise<FileValidationResult> {
  const fail = (message: string): FileValidationResult => ({
    file,
    documents: 0,
    messages: [{ severity: 'error', file, path: [], message }],
  });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return fail(`cannot read file: ${(e as Error).message}`);
  }
  let documents: unknown[];
  try {
    documents = readDocuments(text, file);
  } catch (e) {
    return fail((e as Error).message);
  }
  if (documents.length === 0) return fail('no document found (the file is empty)');
  const numbered = documents.length > 1;
  const messages = documents.flatMap((doc, i) =>
    validateDocument(doc, validateManifest).map((m) => ({
      ...m,
      file,
      ...(numbered ? { document: i + 1 } : {}),
    })),
  );
  return { file, documents: documents.length, messages };
}

export const VALIDATE_USAGE = `Usage: l7mp-validate [--help] FILE...

Validates l7mp proxy configs (YAML or JSON) and Kubernetes manifests holding ${L7MP_API_VERSION}
${L7MP_KINDS.join(', ')} resources (multi-document YAML; other kinds are skipped).
Prints every problem as "<file>: [document <n>: ]<path>: <message>".

Exit status: 0 if every file is valid, 1 if any problem was found, 2 on a usage error.
`;

export interface CliOutput {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** The whole l7mp-validate command; returns the exit status instead of exiting. */
export async function runValidateCli(
  args: readonly string[],
  out: CliOutput,
  validateManifest: ManifestValidator = validateCrdManifest,
): Promise<number> {
  const files: string[] = [];
  let optionsEnded = false;
  for (const arg of args) {
    if (!optionsEnded && (arg === '--help' || arg === '-h')) {
      out.stdout(VALIDATE_USAGE);
      return 0;
    }
    if (!optionsEnded && arg === '--') optionsEnded = true;
    else if (!optionsEnded && arg.startsWith('-')) {
      out.stderr(`l7mp-validate: unknown option ${arg}\n${VALIDATE_USAGE}`);
      return 2;
    } else files.push(arg);
  }
  if (files.length === 0) {
    out.stderr(`l7mp-validate: no file given\n${VALIDATE_USAGE}`);
    return 2;
  }
  let errors = 0;
  for (const file of files) {
    const result = await validateFile(file, validateManifest);
    for (const message of result.messages) {
      if (message.severity === 'error') {
        errors++;
        out.stderr(formatValidationMessage(message));
      } else {
        out.stdout(formatValidationMessage(message));
      }
    }
    if (!result.messages.some((m) => m.severity === 'error')) {
      out.stdout(`${file}: ok${result.documents > 1 ? ` (${result.documents} documents)` : ''}`);
    }
  }
  return errors > 0 ? 1 : 0;
}
