/**
 * A small cookie-keeping HTTP client for the review server tests: real requests over loopback,
 * redirects not followed (tests assert them), cookies kept per name as a browser would for one site.
 */
export interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
  location: string | null;
  /** The raw Set-Cookie lines of this response. */
  setCookies: string[];
}

export class CookieClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  private remember(lines: string[]): void {
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      const expired = attributes.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && new Date(a.slice(8)).getTime() <= Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method: 'GET' | 'POST', path: string, options: { form?: Record<string, string | string[]>; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (options.form) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(options.form)) for (const v of [value].flat()) params.append(name, v);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(new URL(path, this.base), { method, headers, body, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    this.remember(setCookies);
    return { status: response.status, headers: response.headers, body: await response.text(), location: response.headers.get('location'), setCookies };
  }

  get(path: string, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  post(path: string, form: Record<string, string | string[]>, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request('POST', path, { form, ...(headers ? { headers } : {}) });
  }
}

/** The value of a hidden `_csrf` field on a page. */
export function csrfOf(page: string): string {
  const match = /name="_csrf" value="([^"]*)"/.exec(page);
  if (!match) throw new Error('no _csrf field on the page');
  return match[1]!;
}

/** Signs in through the real form; returns the response of the POST. `headers` go with both requests. */
export async function signIn(client: CookieClient, username: string, password: string, next?: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  const form = await client.get(`/login${next ? `?next=${encodeURIComponent(next)}` : ''}`, headers);
  return client.post('/login', { _csrf: csrfOf(form.body), username, password, next: next ?? '/' }, { origin: client.base, ...headers });
}
