/**
 * Session ids: unique across hosts and time. A UUIDv7 (48-bit millisecond time plus 74
 * random bits) sorts by time and needs no coordination between hosts.
 */
export function newSessionId(): string {
  return Bun.randomUUIDv7();
}
