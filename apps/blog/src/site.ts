// Site-wide settings shown on every page and in the feeds.
export const SITE = {
  title: 'The Warm Start',
  tagline: 'Notes on servers, startup time and the software in between.',
  language: 'en',
  pageSize: 10,
  feedSize: 20,
} as const;

/** Absolute origin used in feeds: an explicit site URL if configured, else the one the request came in on. */
export function siteOrigin(
  configured: string | undefined,
  request: { protocol: string; host: string },
): string {
  if (configured) return configured.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}
