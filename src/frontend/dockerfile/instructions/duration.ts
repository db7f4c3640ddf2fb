/** Go's time.ParseDuration (`1h30m`, `1.5s`, `300ms`, `0`), returned in nanoseconds. */
const unitNanos: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }

export function parseDuration (text: string): number | undefined {
  let s = text
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) { if (s[0] === '-') sign = -1; s = s.slice(1) }
  if (s === '0') return 0
  if (s === '') return undefined
  let total = 0
  let i = 0
  while (i < s.length) {
    const numStart = i
    while (i < s.length && ((s[i]! >= '0' && s[i]! <= '9') || s[i] === '.')) i++
    const num = s.slice(numStart, i)
    if (num === '' || num === '.' || num.indexOf('.') !== num.lastIndexOf('.')) return undefined
    const unitStart = i
    while (i < s.length && !((s[i]! >= '0' && s[i]! <= '9') || s[i] === '.')) i++
    const nanos = unitNanos[s.slice(unitStart, i)]
    if (nanos === undefined) return undefined
    total += Number(num) * nanos
  }
  return sign * Math.round(total)
}
