/** `host[:port]` on this machine (localhost, 127.x, ::1): reached over plain http, as Docker does. */
export function isLoopbackRegistry (registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:\d+$/, '')
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}
