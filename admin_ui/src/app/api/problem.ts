import { HttpErrorResponse } from '@angular/common/http';

/** A failure from any service, reduced to what the UI shows. */
export interface UiError {
  status: number;
  title: string;
  message: string;
  code?: string;
  requestId?: string;
  fields?: string[];
  retryAfter?: number;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function parseBody(error: unknown): Record<string, unknown> | null {
  if (typeof error === 'string') {
    try {
      return asRecord(JSON.parse(error));
    } catch {
      return null;
    }
  }
  return asRecord(error);
}

/** Validation errors: FastAPI's `detail: [{loc, msg}]` or a problem's `errors` list. */
function fieldMessages(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => {
    const rec = asRecord(item);
    if (!rec) return String(item);
    const loc = Array.isArray(rec['loc'])
      ? (rec['loc'] as unknown[]).filter((p) => p !== 'body' && p !== 'query').join('.')
      : String(rec['field'] ?? rec['name'] ?? '');
    const msg = String(rec['msg'] ?? rec['message'] ?? rec['detail'] ?? '');
    return loc ? `${loc}: ${msg}` : msg;
  });
}

const STATUS_TEXT: Record<number, string> = {
  0: 'Service unreachable',
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  422: 'Invalid input',
  429: 'Too many requests',
  500: 'Server error',
  503: 'Service unavailable',
  507: 'Insufficient storage',
};

const OAUTH_MESSAGES: Record<string, string> = {
  invalid_grant: 'Wrong username or password.',
  invalid_client: 'Unknown client or wrong secret.',
  temporarily_unavailable: 'The directory (LDAP) is unreachable. Try again shortly.',
  invalid_request: 'The request was incomplete.',
};

export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.round((date - Date.now()) / 1000));
}

/** Turn problem+json, OAuth2 errors, validation errors and network failures into one shape. */
export function toUiError(err: unknown): UiError {
  if (!(err instanceof HttpErrorResponse)) {
    return { status: -1, title: 'Error', message: err instanceof Error ? err.message : String(err) };
  }
  const status = err.status;
  const retryAfter = parseRetryAfter(err.headers?.get('Retry-After'));
  if (status === 0) {
    return {
      status,
      title: STATUS_TEXT[0],
      message: `Cannot reach ${err.url ?? 'the service'}. Check that it is running.`,
    };
  }
  const body = parseBody(err.error);
  const title = String(body?.['title'] ?? STATUS_TEXT[status] ?? `HTTP ${status}`);
  const result: UiError = { status, title, message: '', retryAfter };
  if (body?.['code']) result.code = String(body['code']);
  if (body?.['request_id']) result.requestId = String(body['request_id']);
  const fields = [...fieldMessages(body?.['detail']), ...fieldMessages(body?.['errors'])];
  if (fields.length) result.fields = fields;

  if (typeof body?.['error'] === 'string') {
    const code = body['error'];
    result.code = code;
    result.message = String(body['error_description'] ?? OAUTH_MESSAGES[code] ?? code);
  } else if (typeof body?.['detail'] === 'string') {
    result.message = fields.length ? `${body['detail']}: ${fields.join('; ')}` : body['detail'];
  } else if (fields.length) {
    result.message = fields.join('; ');
  } else {
    result.message = title;
  }
  if (status === 429 && retryAfter !== undefined) {
    result.message = `${result.message === title ? 'Too many attempts.' : result.message} Try again in ${retryAfter} s.`;
  }
  return result;
}

/** One line for a snackbar: "Conflict: retention is active (retention_active)". */
export function errorLine(err: unknown): string {
  const e = toUiError(err);
  const head = e.message && e.message !== e.title ? `${e.title}: ${e.message}` : e.title;
  return e.code ? `${head} (${e.code})` : head;
}
