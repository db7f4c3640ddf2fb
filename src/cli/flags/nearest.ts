/** Damerau-free Levenshtein distance, small inputs only (flag and keyword names). */
export function editDistance (a: string, b: string): number {
  const prev = new Array<number>(b.length + 1)
  for (let j = 0; j <= b.length; j++) prev[j] = j
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]!
}

/** The closest candidate within a distance that still looks like a typo, if any. */
export function nearest (word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDist = Infinity
  const w = word.toLowerCase()
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestDist) { best = c; bestDist = d }
  }
  const limit = Math.max(1, Math.floor(word.length / 3))
  return bestDist <= limit ? best : undefined
}
