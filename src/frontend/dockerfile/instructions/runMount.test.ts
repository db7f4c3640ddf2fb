import { describe, expect, test } from 'vitest'
import { InstructionSyntaxError } from './flags.js'
import { parseRamBytes, parseRunMount, splitCsv } from './runMount.js'

describe('parseRunMount', () => {
  test.each([
    ['target=/src', { type: 'bind', target: '/src', readOnly: true }],
    ['type=bind,source=/a,target=/b,from=build,rw', { type: 'bind', source: '/a', target: '/b', from: 'build', readOnly: false }],
    ['type=bind,src=a,dst=b,readwrite=true', { type: 'bind', source: 'a', target: 'b', readOnly: false }],
    ['type=cache,target=/c', { type: 'cache', target: '/c', readOnly: false }],
    ['type=cache,id=go,target=/c,ro,sharing=locked,from=x,source=/s,mode=0700,uid=1,gid=2',
      { type: 'cache', id: 'go', readOnly: true, sharing: 'locked', from: 'x', source: '/s', mode: 0o700, uid: 1, gid: 2 }],
    ['type=cache,target=/c,readonly=false', { readOnly: false }],
    ['type=tmpfs,target=/t,size=64m', { type: 'tmpfs', target: '/t', sizeLimit: 64 * 1024 * 1024, readOnly: false }],
    ['type=secret,id=tok', { type: 'secret', id: 'tok', readOnly: true }],
    ['type=secret,id=tok,target=/run/t,env=TOKEN,required,mode=0400,uid=0,gid=0',
      { type: 'secret', target: '/run/t', env: 'TOKEN', required: true, mode: 0o400, uid: 0, gid: 0 }],
    ['type=ssh', { type: 'ssh', readOnly: true }],
    ['type=ssh,id=gh,target=/s,required=false,mode=0600', { type: 'ssh', id: 'gh', target: '/s', required: false, mode: 0o600 }],
    ['TYPE=Cache,Target=/c', { type: 'cache', target: '/c' }],
    ['"type=bind","target=/a,b"', { type: 'bind', target: '/a,b' }],
    ['type=cache,target=/root/.npm,key-from=package-lock.json,key-from=.npmrc', { type: 'cache', keyFrom: ['package-lock.json', '.npmrc'] }],
  ])('%s', (spec, want) => {
    expect(parseRunMount(spec)).toMatchObject(want)
  })

  test('values with $ are left for conversion, then expanded', () => {
    expect(parseRunMount('type=cache,target=$DIR,uid=$UID')).toEqual({ type: 'cache', readOnly: false })
    expect(parseRunMount('type=cache,target=$DIR,uid=$UID', w => w.replace('$DIR', '/d').replace('$UID', '7')))
      .toMatchObject({ target: '/d', uid: 7 })
  })

  test.each([
    ['type=volume', /unsupported mount type "volume"/],
    ['type=bind,sharing=shared', /invalid cache sharing set for bind mount/],
    ['type=cache,sharing=privat', /unsupported sharing value "privat" \(did you mean private\?\)/],
    ['type=bind,mode=0700', /mode not allowed for "bind" type mounts/],
    ['type=tmpfs,uid=1', /uid not allowed for "tmpfs" type mounts/],
    ['type=bind,required', /unexpected key 'required' for mount type 'bind'/],
    ['type=cache,size=1m', /unexpected key 'size' for mount type 'cache'/],
    ['type=tmpfs,size=lots', /invalid value for size: lots/],
    ['type=cache,mode=999', /invalid value 999 for mode/],
    ['type=cache,uid=-1', /invalid value -1 for uid/],
    ['type=bind,ro=maybe', /invalid value for ro: maybe/],
    ['type=bind,targt=/x', /unexpected key 'targt' .*did you mean target\?/],
    ['type=bind,bogus', /invalid field 'bogus' must be a key=value pair/],
    ['type=secret', /one of source, target required/],
    ['type=secret,id=a,source=b', /both source and id can't be set/],
    ['type=secret,id=a,from=x', /secret mount should not have a from/],
    ['type=bind,from=$STAGE', /doesn't support variable expansion/],
    ['"type=bind', /unterminated quote/],
    ['type=bind,target=/x,key-from=a', /unexpected key 'key-from' for mount type 'bind'/],
    ['type=cache,target=/x,key-from=', /key-from needs a context path/],
  ])('rejects %s', (spec, message) => {
    expect(() => parseRunMount(spec)).toThrow(InstructionSyntaxError)
    expect(() => parseRunMount(spec)).toThrow(message)
  })
})

test.each([
  ['1024', 1024], ['1k', 1024], ['1.5KiB', 1536], ['2g', 2 * 1024 ** 3], ['64 MB', 64 * 1024 ** 2], ['x', undefined],
])('parseRamBytes(%s)', (text, want) => {
  expect(parseRamBytes(text)).toBe(want)
})

test('splitCsv handles quoted fields with doubled quotes', () => {
  expect(splitCsv('a,"b,c","d""e"')).toEqual(['a', 'b,c', 'd"e'])
})
