import { STATUS_CODES } from 'node:http';

/** The body of every REST error (anchor §5.1): `{status, message, content}`. */
export interface ErrorBody {
  status: number;
  message: string;
  content: unknown;
}

/** An error the API answers with its own status; `content` says what went wrong and where. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly content: unknown,
    message?: string,
  ) {
    super(message ?? (typeof content === 'string' ? content : (STATUS_CODES[status] ?? 'Error')));
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return { status: this.status, message: reasonPhrase(this.status), content: this.content };
  }
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
