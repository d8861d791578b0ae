import { HttpErrorResponse, HttpHeaders } from '@angular/common/http';

import { errorLine, parseRetryAfter, toUiError } from './problem';

function httpError(status: number, error: unknown, headers: Record<string, string> = {}): HttpErrorResponse {
  return new HttpErrorResponse({ status, error, headers: new HttpHeaders(headers), url: 'http://127.0.0.1:8020/api/v1/files/x' });
}

describe('toUiError', () => {
  it('reads problem+json detail, code and request id', () => {
    const e = toUiError(httpError(409, {
      type: 'about:blank', title: 'Conflict', status: 409, detail: 'The file is under legal hold.', code: 'legal_hold', request_id: 'req-1',
    }));
    expect(e).toMatchObject({ status: 409, title: 'Conflict', message: 'The file is under legal hold.', code: 'legal_hold', requestId: 'req-1' });
    expect(errorLine(httpError(409, { title: 'Conflict', detail: 'Under hold', code: 'legal_hold' }))).toBe('Conflict: Under hold (legal_hold)');
  });

  it('parses a problem delivered as text (problem+json is not auto-parsed everywhere)', () => {
    const e = toUiError(httpError(507, JSON.stringify({ title: 'Insufficient Storage', detail: 'No space left', code: 'insufficient_storage' })));
    expect(e.code).toBe('insufficient_storage');
    expect(e.message).toBe('No space left');
  });

  it('shows the OAuth lockout description from the token endpoint', () => {
    const e = toUiError(httpError(400, { error: 'invalid_grant', error_description: 'Account locked until 2026-11-26T04:00:00Z' }));
    expect(e.code).toBe('invalid_grant');
    expect(e.message).toBe('Account locked until 2026-11-26T04:00:00Z');
  });

  it('words a bare invalid_grant and an LDAP outage', () => {
    expect(toUiError(httpError(400, { error: 'invalid_grant' })).message).toBe('Wrong username or password.');
    expect(toUiError(httpError(503, { error: 'temporarily_unavailable' })).message).toContain('LDAP');
  });

  it('lists FastAPI validation errors by field', () => {
    const e = toUiError(httpError(422, { detail: [
      { loc: ['body', 'password'], msg: 'too short', type: 'value_error' },
      { loc: ['query', 'limit'], msg: 'must be <= 1000', type: 'value_error' },
    ] }));
    expect(e.fields).toEqual(['password: too short', 'limit: must be <= 1000']);
    expect(e.message).toBe('password: too short; limit: must be <= 1000');
  });

  it('names the offending fields of a problem+json validation error', () => {
    const e = toUiError(httpError(422, {
      title: 'Invalid request', status: 422, detail: 'the request has invalid fields', code: 'validation_error',
      errors: [{ loc: ['body', 'scopes'], msg: 'List should have at least 1 item after validation, not 0', type: 'too_short' }],
    }));
    expect(e.message).toBe('the request has invalid fields: scopes: List should have at least 1 item after validation, not 0');
    expect(e.code).toBe('validation_error');
  });

  it('says when to retry after a 429', () => {
    const e = toUiError(httpError(429, { title: 'Too Many Requests' }, { 'Retry-After': '30' }));
    expect(e.retryAfter).toBe(30);
    expect(e.message).toBe('Too many attempts. Try again in 30 s.');
  });

  it('names the unreachable service on a network error', () => {
    const e = toUiError(new HttpErrorResponse({ status: 0, error: new ProgressEvent('error'), url: 'http://127.0.0.1:8030/api/v1/search' }));
    expect(e.title).toBe('Service unreachable');
    expect(e.message).toContain('http://127.0.0.1:8030/api/v1/search');
  });

  it('falls back to the status text and handles plain errors', () => {
    expect(toUiError(httpError(404, null)).message).toBe('Not found');
    expect(toUiError(new Error('boom'))).toMatchObject({ status: -1, message: 'boom' });
  });
});

describe('parseRetryAfter', () => {
  it('accepts seconds and HTTP dates', () => {
    expect(parseRetryAfter('12')).toBe(12);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(55);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
