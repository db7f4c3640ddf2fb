import { createHash } from 'node:crypto'
import { TsbuildError } from './errors.js'

export type Digest = `sha256:${string}` & { readonly __brand: 'Digest' }

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/

export function isDigest (s: string): s is Digest {
  return DIGEST_RE.test(s)
}

/** Validate a digest string from outside (registry, file, user). */
export function parseDigest (s: string): Digest {
  if (!isDigest(s)) throw new TsbuildError('INVALID_REFERENCE', `invalid digest ${JSON.stringify(s)}: expected sha256:<64 hex>`)
  return s
}

export function sha256 (data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest
}

export function digestHex (d: Digest): string {
  return d.slice('sha256:'.length)
}

/**
 * Canonical JSON: object keys sorted, `undefined` members dropped, arrays kept
 * in order. Equal values always encode to the same bytes, which is what the
 * LLB and cache-key digests are computed over.
 */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(sortValue(value))
}

function sortValue (v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sortValue(x)))
  if (v !== null && typeof v === 'object') {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k]
      if (x !== undefined) out[k] = sortValue(x)
    }
    return out
  }
  return v
}

export function digestOfJson (value: unknown): Digest {
  return sha256(canonicalJson(value))
}
