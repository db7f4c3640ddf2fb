/** Levenshtein distance, two-row version. */
export function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

/** The closest candidate (case-insensitive), if it is close enough to be a likely typo. */
export function suggest (value: string, candidates: readonly string[]): string | undefined {
  const v = value.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(v, c.toLowerCase())
    if (d < bestDistance) { best = c; bestDistance = d }
  }
  const allowed = Math.max(2, Math.ceil(v.length / 3))
  return bestDistance <= allowed ? best : undefined
}

/** ` (did you mean X?)` or an empty string. */
export function didYouMean (value: string, candidates: readonly string[]): string {
  const s = suggest(value, candidates)
  return s === undefined ? '' : ` (did you mean ${s}?)`
}
