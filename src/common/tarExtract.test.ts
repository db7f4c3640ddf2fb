import { describe, expect, test } from 'vitest'
import { encodePaxRecords } from '../exporter/tarHeader.js'
import { decodePax } from './tarExtract.js'

describe('decodePax', () => {
  test('keeps the bytes of xattr values and decodes the other records as UTF-8', () => {
    const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex')
    const withBadUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x3d])
    const records = encodePaxRecords([
      ['path', Buffer.from('über/größe.txt')],
      ['SCHILY.xattr.security.capability', capability],
      ['SCHILY.xattr.user.raw', withBadUtf8],
      ['linkpath', Buffer.from('a=b')],
    ])
    const pax = decodePax(records)
    expect(pax.path).toBe('über/größe.txt')
    expect(pax.linkpath).toBe('a=b')
    expect(Buffer.from(pax['SCHILY.xattr.security.capability']!, 'latin1')).toEqual(capability)
    expect(Buffer.from(pax['SCHILY.xattr.user.raw']!, 'latin1')).toEqual(withBadUtf8)
  })

  test('stops at a malformed record, keeping what came before', () => {
    const good = encodePaxRecords([['path', Buffer.from('a')]])
    expect(decodePax(Buffer.concat([good, Buffer.from('99 truncated')]))).toEqual({ path: 'a' })
    expect(decodePax(Buffer.from('x path=a\n'))).toEqual({})
  })
})
