/**
 * DNS query ids. `dns.resolve*()` and `dns.promises.resolve*()` go through a default resolver: a
 * c-ares channel whose generator serves query ids from a 256-byte cache it fills from the kernel.
 * Copies inherit the channel with its cache, so their next queries carry the same ids (an attacker
 * who sees one copy's ids could predict the others' and spoof answers). `dns.setServers()` makes a
 * new channel, seeded anew, and binds both APIs to it: given the servers the old one had, nothing
 * else changes. (`dns.lookup()`, what http and net use, asks getaddrinfo and has no such cache;
 * Resolvers the app made itself are out of reach: docs/criu-and-node.md says what to do.)
 */

import { isBuiltinLoaded } from './builtins.js';

/** In a copy: a fresh default resolver, with the same servers, when this thread has loaded dns. */
export function renewDefaultResolver(): void {
  if (!isBuiltinLoaded('dns') && !isBuiltinLoaded('internal/dns/promises')) return;
  const dns = process.getBuiltinModule('node:dns');
  // Reading `promises` first makes setServers() rebind the promise API too, not only the callbacks.
  void dns.promises;
  dns.setServers(dns.getServers());
}
