/**
 * The cookie that ties a sign-in to the browser that started it. `/oauth/start` sets it (its value
 * is the browser secret whose hash the state record keeps) and `/oauth/callback` requires it, so a
 * callback finished in any other browser links nothing.
 *
 * HttpOnly: no script reads it. SameSite=Lax: sent on Atlassian's top-level redirect back to the
 * callback, never on cross-site subrequests. Path: only the two OAuth routes ever see it. Secure
 * whenever browsers reach the bot over https.
 */
import { callbackUrl } from './oauth-client.ts';

export const SIGN_IN_COOKIE = 'vteam_sign_in';

export interface SignInCookie {
  /** The Set-Cookie value that hands `browserSecret` to the browser for `maxAgeMs`. */
  set(browserSecret: string, maxAgeMs: number): string;
  /** The Set-Cookie value that removes it (after the callback, whatever its outcome). */
  clear(): string;
  /** The browser secret from a request's Cookie header, if the browser sent one. */
  read(cookieHeader: string | undefined): string | undefined;
}

export function createSignInCookie(publicUrl: string): SignInCookie {
  const callback = new URL(callbackUrl(publicUrl));
  // The folder both routes live in, as browsers see it (PUBLIC_URL may carry a path prefix).
  const path = new URL('.', callback).pathname.replace(/\/$/, '');
  const attributes = `Path=${path}; HttpOnly; SameSite=Lax${callback.protocol === 'https:' ? '; Secure' : ''}`;
  return {
    set: (browserSecret, maxAgeMs) =>
      `${SIGN_IN_COOKIE}=${browserSecret}; Max-Age=${Math.max(1, Math.ceil(maxAgeMs / 1000))}; ${attributes}`,
    clear: () => `${SIGN_IN_COOKIE}=; Max-Age=0; ${attributes}`,
    read(cookieHeader) {
      for (const pair of (cookieHeader ?? '').split(';')) {
        const separator = pair.indexOf('=');
        if (separator > 0 && pair.slice(0, separator).trim() === SIGN_IN_COOKIE) {
          const value = pair.slice(separator + 1).trim();
          return value === '' ? undefined : value;
        }
      }
      return undefined;
    },
  };
}
