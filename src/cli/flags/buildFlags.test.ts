import { describe, expect, test } from 'vitest'
import { TsbuildError } from '../../common/errors.js'
import { hostPlatform } from '../../common/platform.js'
import { parseBuildArgs } from './buildFlags.js'

const cwd = '/work/app'
const parse = (...argv: string[]) => parseBuildArgs(argv, cwd, { FROM_ENV: 'yes' })

function usageError (argv: string[]): TsbuildError {
  try { parse(...argv) } catch (e) { expect(e).toBeInstanceOf(TsbuildError); return e as TsbuildError }
  throw new Error(`expected ${argv.join(' ')} to fail`)
}

describe('build flags', () => {
  test('defaults', () => {
    const r = parse('.')
    expect(r.contextDir).toBe('/work/app')
    expect(r.dockerfile).toEqual({ path: '/work/app/Dockerfile', displayName: 'Dockerfile' })
    expect(r.platforms).toEqual([])
    expect(r.progress).toBe('auto')
    expect(r.network).toBe('default')
    expect(r.call).toBe('build')
  })

  test('all the value forms', () => {
    const r = parse('-t', 'a', '--tag=b', '-tc', '--platform', 'linux/amd64,linux/arm64', '--platform=linux/arm/v7',
      '--build-arg', 'X=1', '--build-arg', 'FROM_ENV', '--build-arg', 'MISSING', '--target', 'final', '-f', '-',
      '--no-cache-filter', 'a,b', '--label', 'k=v=w', '--print=llb', '--max-parallelism', '3', 'ctx')
    expect(r.tags).toEqual(['a', 'b', 'c'])
    expect(r.platforms).toEqual([
      { os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' },
    ])
    expect([...r.buildArgs]).toEqual([['X', '1'], ['FROM_ENV', 'yes']])
    expect(r.target).toBe('final')
    expect(r.dockerfile).toEqual({ displayName: 'Dockerfile', fromStdin: true })
    expect(r.noCacheFilter).toEqual(['a', 'b'])
    expect([...r.labels]).toEqual([['k', 'v=w']])
    expect(r.print).toBe('llb')
    expect(r.maxParallelism).toBe(3)
    expect(r.contextDir).toBe('/work/app/ctx')
  })

  test('secrets, ssh, build contexts and caches', () => {
    const r = parse('--secret', 'id=npm,src=.npmrc', '--secret', 'id=tok,env=TOKEN', '--ssh', 'default', '--ssh', 'gh=/k1,/k2',
      '--build-context', 'base=docker-image://alpine:3', '--build-context', 'src=../src', '--build-context', 'lay=oci-layout://./l:v1',
      '--cache-from', 'type=local,src=/c', '--cache-to', 'type=registry,ref=localhost:5000/c,mode=max,ignore-error=true,mounts=true',
      '--cache-to', 'type=inline', '.')
    expect(r.secrets).toEqual([{ id: 'npm', kind: 'file', src: '/work/app/.npmrc' }, { id: 'tok', kind: 'env', env: 'TOKEN' }])
    expect(r.ssh).toEqual([{ id: 'default', paths: [] }, { id: 'gh', paths: ['/k1', '/k2'] }])
    expect(r.buildContexts.get('base')).toEqual({ kind: 'image', ref: 'alpine:3' })
    expect(r.buildContexts.get('src')).toEqual({ kind: 'local', path: '/work/src' })
    expect(r.buildContexts.get('lay')).toEqual({ kind: 'oci-layout', path: '/work/app/l', ref: 'v1' })
    const d = `sha256:${'ab'.repeat(32)}`
    expect(parse('--build-context', `x=oci-layout:///l@${d}`, '.').buildContexts.get('x')).toEqual({ kind: 'oci-layout', path: '/l', digest: d })
    expect(parse('--build-context', `x=oci-layout://l:v2@${d}`, '.').buildContexts.get('x')).toEqual({ kind: 'oci-layout', path: '/work/app/l', ref: 'v2', digest: d })
    expect(r.cacheFrom).toEqual([{ type: 'local', dir: '/c', mode: 'min', ignoreError: false, mounts: false }])
    expect(r.cacheTo[0]).toEqual({ type: 'registry', ref: 'localhost:5000/c', mode: 'max', ignoreError: true, mounts: true })
    expect(r.cacheTo[1]?.type).toBe('inline')
  })

  test('"-" takes the context from stdin; -f then names a file inside it, and -f - with it is refused', () => {
    const r = parse('-')
    expect(r.contextFromStdin).toBe(true)
    expect(r.dockerfile).toEqual({ displayName: 'Dockerfile' })
    expect(parse('-f', 'ci/Dockerfile', '-').dockerfile).toEqual({ displayName: 'ci/Dockerfile' })
    expect(parse('.').contextFromStdin).toBeUndefined()
    expect(() => parse('-f', '-', '-')).toThrow("invalid argument: can't use stdin for both build context and dockerfile")
  })

  test('--platform local is the host platform, as in buildx', () => {
    expect(parse('--platform', 'local,linux/arm64', '.').platforms).toEqual([hostPlatform(), { os: 'linux', architecture: 'arm64' }])
  })

  test('--build-context names may be image references', () => {
    expect(parse('--build-context', 'docker.io/library/alpine:3.20=docker-image://busybox', '.').buildContexts.has('docker.io/library/alpine:3.20')).toBe(true)
  })

  test.each([
    [['--platfrom', 'linux/amd64', '.'], /unknown flag: --platfrom/, /did you mean --platform/],
    [['--progress', 'fancy', '.'], /invalid value "fancy" for --progress/, /auto, tty, plain, rawjson, quiet/],
    [['--platform', 'linux//arm', '.'], /invalid platform/, undefined],
    [['-t'], /flag needs an argument: -t/, undefined],
    [['a', 'b'], /exactly one context/, undefined],
    [[], /needs a context/, /"\." for the current directory/],
    [['--allow', 'root', '.'], /invalid value "root" for --allow/, undefined],
    [['--cache-to', 'type=s3,bucket=x', '.'], /unsupported cache type "s3"/, undefined],
    [['--cache-to', 'type=local', '.'], /needs dest=DIR/, undefined],
    [['--cache-to', 'type=registry,ref=r/a:c,mod=max', '.'], /unknown field "mod" in --cache-to \(did you mean mode\?\)/, /known fields: type, ref, mode/],
    [['--secret', 'src=', '.'], /needs an id/, undefined],
    [['--build-context', 'x=git://h/r', '.'], /unsupported --build-context source/, undefined],
    [['--build-context', 'X=/tmp', '.'], /invalid --build-context name "X": a name is a stage name or an image reference, in lowercase/, undefined],
    [['--max-parallelism', '0', '.'], /positive integer/, undefined],
    [['--call', 'lint', '.'], /invalid value "lint" for --call/, undefined],
    [['--call=outline,format=yaml', '.'], /--call: invalid format "yaml" \(use json or text\)/, undefined],
    [['--call=check,format=json', '.'], /--call=check has no format=json: only outline and targets print JSON/, undefined],
    [['--call=outline,targets', '.'], /invalid value "outline,targets" for --call/, /optionally with ,format=json/],
    [['--label', '=novalue', '.'], /expected KEY=VALUE/, undefined],
  ] as Array<[string[], RegExp, RegExp | undefined]>)('%j is a clear usage error', (argv, message, hint) => {
    const e = usageError(argv)
    expect(e.message).toMatch(message)
    if (hint) expect(e.hint).toMatch(hint)
  })

  test.each([
    [['--call=outline,format=json'], 'outline', 'json'],
    [['--call', 'targets,format=json'], 'targets', 'json'],
    [['--call=format=json,targets'], 'targets', 'json'],
    [['--call=outline,format=text'], 'outline', 'text'],
    [['--call=outline'], 'outline', 'text'],
    [['--check'], 'check', 'text'],
    [[], 'build', 'text'],
  ])('--call %j: the call and its format=', (flags, call, format) => {
    const req = parse(...flags, '.')
    expect([req.call, req.callFormat]).toEqual([call, format])
  })

  test('cache fields BuildKit knows and tsbuild has no use for are taken, so buildx command lines work', () => {
    const r = parse('--cache-to', 'type=registry,ref=r/a:c,mode=max,oci-mediatypes=true,image-manifest=true,compression=zstd', '.')
    expect(r.cacheTo).toEqual([expect.objectContaining({ type: 'registry', ref: 'r/a:c', mode: 'max' })])
  })

  test('--network=host grants the network.host entitlement itself, as buildx does', () => {
    const req = parse('--network=host', '.')
    expect(req.network).toBe('host')
    expect([...req.allow]).toEqual(['network.host'])
    expect([...parse('--allow', 'security.insecure', '.').allow]).toEqual(['security.insecure'])
    expect([...parse('.').allow]).toEqual([])
  })
})
