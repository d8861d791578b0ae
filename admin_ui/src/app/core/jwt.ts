import { AccessClaims } from '../api/types';

/** Read a JWT's claims without verifying it: the services verify; the UI only needs the role. */
export function decodeJwt(token: string | null | undefined): AccessClaims | null {
  if (!token) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return claims && typeof claims === 'object' ? (claims as AccessClaims) : null;
  } catch {
    return null;
  }
}

/** True when the token expires within `skewSeconds` (or has no usable expiry). */
export function isExpiring(claims: AccessClaims | null, nowMs: number, skewSeconds = 30): boolean {
  if (!claims?.exp) return true;
  return claims.exp * 1000 - nowMs <= skewSeconds * 1000;
}
