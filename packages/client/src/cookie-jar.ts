/**
 * A minimal cookie jar for clients outside a browser (tests, benchmark, CLI): it keeps what the
 * server sets and sends it back, which is how `auth.refresh` finds its HttpOnly refresh cookie.
 */
export function withCookieJar(
  baseFetch: typeof fetch,
  initial: Iterable<readonly [string, string]> = [],
): typeof fetch & { cookies: Map<string, string> } {
  const cookies = new Map<string, string>(initial);
  const jarFetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    if (cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await baseFetch(input, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    return res;
  };
  return Object.assign(jarFetch, { cookies });
}
