import { TsbuildError } from '../common/errors.js'
import { formatPlatform, parsePlatform, type Platform } from '../common/platform.js'

/**
 * OCI annotations on what an image output writes, as in BuildKit and buildx
 * (docs/cli.md): the manifest (the default), the index of a multi-platform
 * image, the manifest descriptors inside that index, or the root's
 * descriptor in an OCI layout's index.json. A platform limits one to that
 * platform's manifest (or descriptor).
 */
export type AnnotationLevel = 'manifest' | 'index' | 'manifest-descriptor' | 'index-descriptor'

export interface Annotation {
  readonly level: AnnotationLevel
  readonly platform?: Platform
  readonly key: string
  readonly value: string
}

const LEVELS: readonly AnnotationLevel[] = ['manifest', 'index', 'manifest-descriptor', 'index-descriptor']

/**
 * `--annotation [TYPE[,TYPE…]][\[PLATFORM\]]:KEY=VALUE`, or plain `KEY=VALUE`
 * for the manifest: `index,manifest:org.opencontainers.image.vendor=acme`,
 * `manifest[linux/arm64]:org.opencontainers.image.url=https://…`.
 */
export function parseAnnotationFlag (text: string): Annotation[] {
  const eq = text.indexOf('=')
  if (eq <= 0) throw usage(text, 'expected KEY=VALUE, optionally after TYPE: or TYPE[PLATFORM]:')
  const m = /^(?:([a-z,-]+)(?:\[([^\]]+)\])?:)?([^\s:][^\s]*)$/.exec(text.slice(0, eq))
  if (m === null) throw usage(text, 'expected KEY=VALUE, optionally after TYPE: or TYPE[PLATFORM]:')
  return expand(text, m[1], m[2], m[3]!, text.slice(eq + 1))
}

/**
 * An output option (`-o type=image,annotation.KEY=VALUE`): `annotation.KEY`,
 * `annotation-TYPE.KEY`, `annotation[PLATFORM].KEY` or
 * `annotation-TYPE[PLATFORM].KEY`. Undefined when `field` is not one.
 */
export function parseAnnotationField (field: string, value: string): Annotation[] | undefined {
  if (!field.startsWith('annotation')) return undefined
  const m = /^annotation(?:-([a-z-]+))?(?:\[([^\]]+)\])?\.(.+)$/.exec(field)
  if (m === null) throw usage(`${field}=${value}`, 'expected annotation.KEY, annotation-TYPE.KEY or annotation[PLATFORM].KEY')
  return expand(`${field}=${value}`, m[1], m[2], m[3]!, value)
}

function expand (text: string, types: string | undefined, platform: string | undefined, key: string, value: string): Annotation[] {
  const levels = (types ?? 'manifest').split(',')
  for (const l of levels) {
    if (!(LEVELS as readonly string[]).includes(l)) throw usage(text, `unknown annotation type ${JSON.stringify(l)}; expected ${LEVELS.join(', ')}`)
  }
  let p: Platform | undefined
  if (platform !== undefined) {
    try { p = parsePlatform(platform) } catch (err) { throw usage(text, (err as Error).message) }
  }
  return levels.map((level) => ({ level: level as AnnotationLevel, ...(p !== undefined ? { platform: p } : {}), key, value }))
}

/** The annotations for one level (and platform), later ones winning; undefined when there are none. */
export function annotationsFor (list: readonly Annotation[] | undefined, level: AnnotationLevel, platform?: Platform): Record<string, string> | undefined {
  let out: Record<string, string> | undefined
  for (const a of list ?? []) {
    if (a.level !== level) continue
    if (a.platform !== undefined && (platform === undefined || formatPlatform(a.platform) !== formatPlatform(platform))) continue
    ;(out ??= {})[a.key] = a.value
  }
  return out
}

/**
 * Refuse annotations for something the output will not write, before any
 * step runs (as BuildKit fails such a build): an index or its descriptors
 * need several platforms, and only an OCI layout (type=oci, and type=docker,
 * whose archive is one too) has an index descriptor.
 */
export function checkAnnotationLevels (list: readonly Annotation[], output: { type: string; platforms: number; writesIndex?: boolean }): void {
  const writesIndex = output.platforms > 1 || output.writesIndex === true
  for (const a of list) {
    const fails = ((a.level === 'index' || a.level === 'manifest-descriptor') && !writesIndex) ||
      (a.level === 'index-descriptor' && output.type !== 'oci' && output.type !== 'docker')
    if (fails) {
      const why = a.level === 'index-descriptor' ? 'only type=oci and type=docker write an index descriptor (in their index.json)' : 'only a multi-platform image, or one with attestations, has an index'
      throw new TsbuildError('USAGE', `annotation ${a.level}:${a.key} cannot be written to the type=${output.type} output: ${why}`)
    }
  }
}

function usage (text: string, why: string): TsbuildError {
  return new TsbuildError('USAGE', `invalid annotation ${JSON.stringify(text)}: ${why}`)
}
