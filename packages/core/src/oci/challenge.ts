/**
 * WWW-Authenticate challenges (RFC 9110 section 11.6.1) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"`
 * or `Basic realm="Registry"`. A header may carry several challenges; each has a scheme and
 * comma-separated name=value parameters (values quoted or plain tokens).
 */
export interface Challenge {
  /** Lowercase: `basic`, `bearer`. */
  readonly scheme: string;
  /** Parameter names lowercase. */
  readonly params: Readonly<Record<string, string>>;
}

const PARAM = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/;
const SCHEME = /^\s*,?\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+|$)/;

export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  const headers = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  const challenges: Challenge[] = [];
  for (const text of headers) {
    let rest = text;
    while (rest.trim() !== '') {
      const scheme = SCHEME.exec(rest);
      if (!scheme) break;
      rest = rest.slice(scheme[0].length);
      const params: Record<string, string> = {};
      for (let m = PARAM.exec(rest); m; m = PARAM.exec(rest)) {
        params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
        rest = rest.slice(m[0].length);
      }
      challenges.push({ scheme: scheme[1]!.toLowerCase(), params });
    }
  }
  return challenges;
}
