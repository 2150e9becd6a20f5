/**
 * The user's browser, reduced to plain HTTP: follow the authorization server's redirects with a
 * cookie jar, fill in the sign-in form, then approve (or deny) consent, and stop at the first
 * redirect that leaves the authorization server — the one to the app's callback, which is
 * returned unfollowed so the test decides when (and how often, and in which browser) the callback
 * is hit.
 *
 * A `TestBrowser` is one browser's cookies for the app: `signInThroughLink` opens the bot's
 * sign-in link in it (keeping the cookie the link sets) before the Atlassian leg, and `open`
 * visits the callback with whatever cookies that browser holds. Two TestBrowsers are two people.
 */

export interface BrowserLegOptions {
  /** An account id (password `password`) or explicit credentials from the server's account store. */
  login: string | { username: string; password: string };
  /** Press "Deny" on the consent page instead of "Allow". */
  deny?: boolean;
  fetch?: typeof fetch;
}

export class BrowserLegError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'BrowserLegError';
    this.status = status;
  }
}

interface HtmlForm {
  action: string;
  method: string;
  fields: Map<string, string>;
}

export async function completeBrowserLeg(authorizationUrl: string | URL, options: BrowserLegOptions): Promise<URL> {
  const doFetch = options.fetch ?? fetch;
  const credentials = typeof options.login === 'string' ? { username: options.login, password: 'password' } : options.login;
  const start = new URL(authorizationUrl);
  const serverOrigin = start.origin;
  const jar = new CookieJar();

  let request: { url: URL; method: string; body?: URLSearchParams } = { url: start, method: 'GET' };
  let submittedLogin = false;
  for (let step = 0; step < 20; step += 1) {
    const response = await doFetch(request.url, {
      method: request.method,
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        ...(jar.header() ? { cookie: jar.header() } : {}),
        ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: request.body,
    });
    jar.store(response.headers.getSetCookie());

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      const next = new URL(location, request.url);
      if (next.origin !== serverOrigin) return next;
      request = { url: next, method: 'GET' };
      continue;
    }

    const html = await response.text();
    if (response.status !== 200) {
      throw new BrowserLegError(`authorization server answered ${response.status}: ${textOf(html).slice(0, 300)}`, response.status);
    }
    const forms = parseForms(html, request.url);
    const loginForm = forms.find((form) => form.fields.has('password'));
    if (loginForm !== undefined) {
      if (submittedLogin) throw new BrowserLegError(`sign-in was rejected: ${textOf(html).slice(0, 200)}`);
      submittedLogin = true;
      loginForm.fields.set('login', credentials.username);
      loginForm.fields.set('password', credentials.password);
      request = submission(loginForm);
      continue;
    }
    const consent = forms.find((form) => (options.deny ? /\/abort$/ : /\/confirm$/).test(new URL(form.action).pathname));
    if (consent === undefined)
      throw new BrowserLegError(`page has no ${options.deny ? 'deny' : 'consent'} form: ${textOf(html).slice(0, 300)}`);
    request = submission(consent);
  }
  throw new BrowserLegError('too many steps before the authorization server redirected back');
}

/** Opens the bot's sign-in link (`/oauth/start?flow=…`) in `browser`, then signs in at the authorization server it redirects to. */
export async function signInThroughLink(signInUrl: string | URL, options: BrowserLegOptions & { browser: TestBrowser }): Promise<URL> {
  const response = await options.browser.open(signInUrl);
  const location = response.headers.get('location');
  if (response.status !== 302 || location === null) {
    throw new BrowserLegError(`the sign-in link answered ${response.status}: ${textOf(response.text)}`, response.status);
  }
  return completeBrowserLeg(new URL(location, signInUrl), options);
}

export interface BrowserVisit {
  status: number;
  headers: Headers;
  text: string;
  /** The Set-Cookie lines of this answer, as sent. */
  setCookies: string[];
}

/** One browser's cookies, per origin (paths and domains within an origin are not tracked); redirects are not followed. */
export class TestBrowser {
  readonly #jars = new Map<string, CookieJar>();
  readonly #fetch: typeof fetch;

  constructor(options: { fetch?: typeof fetch } = {}) {
    this.#fetch = options.fetch ?? fetch;
  }

  async open(url: string | URL): Promise<BrowserVisit> {
    const target = new URL(url);
    const jar = this.#jar(target.origin);
    const cookie = jar.header();
    const response = await this.#fetch(target, { redirect: 'manual', headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
    const setCookies = response.headers.getSetCookie();
    jar.store(setCookies);
    return { status: response.status, headers: response.headers, text: await response.text(), setCookies };
  }

  /** The Cookie header this browser sends to `origin`. */
  cookieHeader(origin: string): string {
    return this.#jar(origin).header();
  }

  #jar(origin: string): CookieJar {
    let jar = this.#jars.get(origin);
    if (jar === undefined) this.#jars.set(origin, (jar = new CookieJar()));
    return jar;
  }
}

function submission(form: HtmlForm): { url: URL; method: string; body?: URLSearchParams } {
  const body = new URLSearchParams([...form.fields]);
  if (form.method === 'GET') {
    const url = new URL(form.action);
    for (const [name, value] of body) url.searchParams.set(name, value);
    return { url, method: 'GET' };
  }
  return { url: new URL(form.action), method: 'POST', body };
}

/** Forms and their named inputs; enough for the server's own simple markup. */
function parseForms(html: string, base: URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = match[1] ?? '';
    const inner = match[2] ?? '';
    const fields = new Map<string, string>();
    for (const input of inner.matchAll(/<(?:input|button)\b([^>]*)>/gi)) {
      const name = attribute(input[1] ?? '', 'name');
      if (name !== undefined) fields.set(name, attribute(input[1] ?? '', 'value') ?? '');
    }
    forms.push({
      action: new URL(decodeEntities(attribute(attributes, 'action') ?? base.href), base).href,
      method: (attribute(attributes, 'method') ?? 'GET').toUpperCase(),
      fields,
    });
  }
  return forms;
}

function attribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(attributes);
  if (match === null) return undefined;
  return decodeEntities(match[1] ?? match[2] ?? '');
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|#39|#x27|#x2F);/g,
    (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x2F': '/' })[entity] ?? '',
  );
}

function textOf(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** One origin, so paths and domains are not tracked; expiry and deletion are. */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((raw) => {
        const [key = '', attrValue = ''] = raw.split('=').map((part) => part.trim());
        if (key.toLowerCase() === 'max-age') return Number(attrValue) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(attrValue) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
