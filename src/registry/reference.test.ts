import { describe, expect, test } from 'vitest'
import { hasCode } from '../common/errors.js'
import { familiarName, formatReference, parseReference } from './reference.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseReference', () => {
  test.each([
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x', 'busybox:x'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['user/team/app:v1.0-rc_1', 'docker.io/user/team/app:v1.0-rc_1', 'user/team/app:v1.0-rc_1'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
    ['[::1]:5000/x', '[::1]:5000/x:latest', '[::1]:5000/x:latest'],
    ['[fe80::1]/x:y', '[fe80::1]/x:y', '[fe80::1]/x:y'],
    ['ghcr.io/o/r', 'ghcr.io/o/r:latest', 'ghcr.io/o/r:latest'],
    ['Registry.Example.com/x', 'Registry.Example.com/x:latest', 'Registry.Example.com/x:latest'],
    ['localhost:5000', 'docker.io/library/localhost:5000', 'localhost:5000'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
    [`localhost:5000/a@${D}`, `localhost:5000/a@${D}`, `localhost:5000/a@${D}`],
    ['a__b-c---d/f_g.h', 'docker.io/a__b-c---d/f_g.h:latest', 'a__b-c---d/f_g.h:latest'],
    ['  busybox  ', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ])('%s → %s', (input, full, familiar) => {
    const ref = parseReference(input)
    expect(formatReference(ref)).toBe(full)
    expect(familiarName(ref)).toBe(familiar)
    expect(parseReference(formatReference(ref))).toEqual(ref)
  })

  test('splits the parts', () => {
    expect(parseReference(`localhost:5000/a/b:t@${D}`)).toEqual({ registry: 'localhost:5000', repository: 'a/b', tag: 't', digest: D })
    expect(parseReference(`x@${D}`).tag).toBeUndefined()
  })

  test.each([
    ['', /empty/],
    ['Busybox', /must be lowercase/],
    ['user/App', /must be lowercase/],
    ['busybox:', /tag after ":" is empty/],
    ['busybox:-x', /tag "-x"/],
    [`busybox:${'t'.repeat(129)}`, /1-128 characters/],
    ['busybox@sha256:abc', /is not a digest/],
    [`busybox@sha256:${'A'.repeat(64)}`, /64 lowercase hex/],
    [`busybox@sha512:${'a'.repeat(128)}`, /only sha256/],
    ['a//b', /empty path component/],
    ['a/-b', /path component "-b"/],
    ['a/b_', /path component "b_"/],
    ['a/b...c', /path component "b...c"/],
    ['exa_mple.com/x', /registry host "exa_mple.com"/],
    ['localhost:5000/', /repository name is empty/],
    [':tag', /repository name is empty/],
    ['bu sybox', /whitespace/],
    [`x/${'a'.repeat(260)}`, /at most 255/],
  ])('rejects %j', (input, message) => {
    let err: unknown
    try { parseReference(input) } catch (e) { err = e }
    expect(hasCode(err, 'INVALID_REFERENCE')).toBe(true)
    expect((err as Error).message).toMatch(message)
  })
})
