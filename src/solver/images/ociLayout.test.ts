import { describe, expect, test } from 'vitest'
import { parseOciLayoutRef } from './ociLayout.js'

const D = `sha256:${'ab'.repeat(32)}`

describe('parseOciLayoutRef', () => {
  test.each([
    ['oci-layout:///tmp/x', { dir: '/tmp/x' }],
    ['oci-layout:///tmp/x:v2', { dir: '/tmp/x', tag: 'v2' }],
    [`oci-layout:///tmp/x:v2@${D}`, { dir: '/tmp/x', tag: 'v2', digest: D }],
    [`oci-layout:///tmp/x@${D}`, { dir: '/tmp/x', digest: D }],
    ['oci-layout:///tmp/a:b/x', { dir: '/tmp/a:b/x' }],
    ['oci-layout://rel/dir:latest', { dir: 'rel/dir', tag: 'latest' }],
  ])('%s', (ref, want) => {
    expect(parseOciLayoutRef(ref)).toEqual(want)
  })

  test('other references are not layouts', () => {
    expect(parseOciLayoutRef('docker.io/library/busybox:latest')).toBeUndefined()
  })

  test('a layout reference needs a directory', () => {
    expect(() => parseOciLayoutRef('oci-layout://:v1')).toThrow(/no directory/)
  })
})
