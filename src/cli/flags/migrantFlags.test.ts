// Command lines typed by people coming from buildx, kaniko and buildah: what
// buildx takes is taken the same way; what the other tools take is refused
// with the buildx spelling that does the same.
import { describe, expect, test } from 'vitest'
import { TsbuildError } from '../../common/errors.js'
import { parseBuildArgs } from './buildFlags.js'

const cwd = '/work/app'
const parse = (env: NodeJS.ProcessEnv, ...argv: string[]) => parseBuildArgs(argv, cwd, env)

function usageError (argv: string[]): TsbuildError {
  try { parse({}, ...argv) } catch (e) { expect(e).toBeInstanceOf(TsbuildError); return e as TsbuildError }
  throw new Error(`expected ${argv.join(' ')} to fail`)
}

describe('--secret as buildx and BuildKit read it', () => {
  test('a bare id is the environment variable of that name when it is set', () => {
    expect(parse({ tok: 'v' }, '--secret', 'id=tok', '.').secrets).toEqual([{ id: 'tok', kind: 'env', env: 'tok' }])
  })

  test('a bare id whose variable is unset is the file of that name, relative to the working directory', () => {
    expect(parse({}, '--secret', 'id=tok', '.').secrets).toEqual([{ id: 'tok', kind: 'file', src: '/work/app/tok' }])
    expect(parse({ OTHER: 'x' }, '--secret', 'id=ci/tok', '.').secrets).toEqual([{ id: 'ci/tok', kind: 'file', src: '/work/app/ci/tok' }])
  })

  test('an empty variable is still set, so it is the value', () => {
    expect(parse({ tok: '' }, '--secret', 'id=tok', '.').secrets).toEqual([{ id: 'tok', kind: 'env', env: 'tok' }])
  })

  test('type=env, env=, src= and keys in any case', () => {
    expect(parse({}, '--secret', 'id=tok,type=env', '.').secrets).toEqual([{ id: 'tok', kind: 'env', env: 'tok' }])
    expect(parse({}, '--secret', 'type=env,src=TOKEN', '.').secrets).toEqual([{ id: 'TOKEN', kind: 'env', env: 'TOKEN' }])
    expect(parse({}, '--secret', 'ID=npm,SRC=.npmrc', '.').secrets).toEqual([{ id: 'npm', kind: 'file', src: '/work/app/.npmrc' }])
    expect(parse({}, '--secret', 'src=./conf/.npmrc', '.').secrets).toEqual([{ id: '.npmrc', kind: 'file', src: '/work/app/conf/.npmrc' }])
  })
})

describe('--label as buildx reads it', () => {
  test('a bare KEY is a label with an empty value (only --build-arg looks in the environment)', () => {
    expect([...parse({ maintainer: 'from-env' }, '--label', 'maintainer', '--label', 'a=b=c', '.').labels]).toEqual([['maintainer', ''], ['a', 'b=c']])
  })

  test('an empty key is still refused', () => {
    expect(usageError(['--label', '=v', '.']).message).toMatch(/invalid --label "=v"/)
  })
})

describe('kaniko and buildah flags: refused, with the buildx spelling', () => {
  test.each([
    [['--destination', 'reg/app:1', '.'], /--destination \(a kaniko flag\)/, /-t NAME --push/],
    [['--destination=reg/app:1', '.'], /--destination \(a kaniko flag\)/, /-t NAME --push/],
    [['--context', 'dir:///src'], /--context \(a kaniko flag\)/, /last argument: tsbuild build \[OPTIONS\] DIR/],
    [['--dockerfile', 'ci/Dockerfile', '.'], /--dockerfile \(a kaniko flag\)/, /-f FILE/],
    [['--no-push', '.'], /--no-push \(a kaniko flag\)/, /leave out --push/],
    [['--tar-path', 'img.tar', '.'], /--tar-path/, /-o type=docker,dest=FILE/],
    [['--cache=true', '.'], /--cache \(a kaniko flag\)/, /cache is on by default/],
    [['--cache-repo', 'reg/cache', '.'], /--cache-repo/, /--cache-to type=registry,ref=REPO,mode=max --cache-from type=registry,ref=REPO/],
    [['--digest-file', 'd', '.'], /--digest-file/, /--metadata-file FILE/],
    [['--custom-platform', 'linux/arm64', '.'], /--custom-platform/, /--platform/],
    [['--reproducible', '.'], /--reproducible/, /SOURCE_DATE_EPOCH/],
    [['--layers', '.'], /--layers \(a buildah flag\)/, /--no-cache/],
    [['--layers=false', '.'], /--layers \(a buildah flag\)/, /--no-cache/],
    [['--format', 'docker', '.'], /--format \(a buildah flag\)/, /oci-mediatypes=false/],
    [['--squash-all', '.'], /--squash-all \(a buildah flag\)/, /COPY --from/],
    [['--jobs', '4', '.'], /--jobs/, /--max-parallelism N/],
    [['--timestamp', '0', '.'], /--timestamp/, /SOURCE_DATE_EPOCH/],
    [['--arch', 'arm64', '.'], /--arch/, /--platform linux\/ARCH/],
    [['--authfile', 'auth.json', '.'], /--authfile/, /DOCKER_CONFIG/],
    [['--tls-verify=false', '.'], /--tls-verify/, /loopback/],
    [['--pull-always', '.'], /--pull-always \(a buildah flag\)/, /did you mean --pull\?/],
    [['--all-platforms', '.'], /--all-platforms \(a buildah flag\)/, /did you mean --platform OS\/ARCH,OS\/ARCH…\?/],
    [['--disable-compression', '.'], /--disable-compression/, /compression=uncompressed/],
    [['--cache-ttl=6h', '.'], /--cache-ttl \(a kaniko and buildah flag\)/, /leave the flag out/],
  ] as Array<[string[], RegExp, RegExp]>)('%j', (argv, message, hint) => {
    const e = usageError(argv)
    expect(e.code).toBe('USAGE')
    expect(e.message).toMatch(/^unknown flag: /)
    expect(e.message).toMatch(message)
    expect(e.hint).toMatch(hint)
  })

  test('a kaniko command line with several of its flags gets them all in one error', () => {
    const e = usageError(['--context', '/src', '--dockerfile', '/src/Dockerfile', '--destination', 'reg/app:1', '--build-arg', 'A=1'])
    expect(e.message).toBe('unknown flags: --context, --dockerfile, --destination (kaniko flags)')
    expect(e.hint).toMatch(/^--context: the context is the last argument.* --dockerfile: did you mean -f FILE\? --destination: did you mean -t NAME --push\?.* tsbuild takes docker buildx build's flags/)
  })

  test('flags of both tools together name both', () => {
    expect(usageError(['--destination=r/a', '--layers', '.']).message).toBe('unknown flags: --destination, --layers (kaniko and buildah flags)')
  })

  test('a typo of a buildx flag still gets the nearest buildx flag', () => {
    expect(usageError(['--bulid-arg', 'A=1', '.']).hint).toMatch(/did you mean --build-arg\?/)
  })

  test('--no-push is not taken for a typo of --push', () => {
    expect(usageError(['--no-push', '.']).hint).not.toMatch(/did you mean --push\?/)
  })

  test('a buildx spelling is offered as one', () => {
    expect(usageError(['--dockerfile', 'ci/Dockerfile', '.']).hint).toMatch(/^did you mean -f FILE\? tsbuild takes docker buildx build's flags/)
  })

  test.each([
    ['always', /did you mean --pull\?/],
    ['missing', /leave out --pull/],
    ['never', /leave out --pull/],
  ])('buildah\'s --pull=%s names the buildx form', (policy, hint) => {
    const e = usageError([`--pull=${policy}`, '.'])
    expect(e.message).toBe(`invalid value "${policy}" for --pull: a buildah pull policy; --pull is true or false`)
    expect(e.hint).toMatch(hint)
  })

  test('--pull=true and --pull=false stay buildx\'s', () => {
    expect(parse({}, '--pull=true', '.').pull).toBe(true)
    expect(parse({}, '--pull=false', '.').pull).toBe(false)
    expect(usageError(['--pull=sometimes', '.']).message).toMatch(/invalid value "sometimes" for --pull: expected true or false/)
  })

  test('buildah bud: the command is tsbuild build', () => {
    const e = usageError(['bud', '-t', 'x', '.'])
    expect(e.message).toMatch(/"bud" is buildah's build command/)
    expect(e.hint).toMatch(/tsbuild build -t NAME \./)
  })
})

describe('--iidfile with outputs that make no image', () => {
  test.each([
    [['-o', 'type=local,dest=out']],
    [['-o', 'out']],
    [['-o', 'type=tar,dest=x.tar']],
    [['-o', '-']],
  ])('%j is refused, as buildx refuses it', (output) => {
    const e = usageError(['--iidfile', 'iid', ...output, '.'])
    expect(e.message).toBe('--iidfile: local and tar outputs make no image, so there is no image ID to write')
    expect(e.hint).toMatch(/-t NAME|type=oci|type=docker/)
  })

  test('beside an image output, or with none, it is taken', () => {
    expect(parse({}, '--iidfile', 'iid', '-o', 'type=oci,dest=x.tar', '.').iidFile).toBe('/work/app/iid')
    expect(parse({}, '--iidfile', 'iid', '.').iidFile).toBe('/work/app/iid')
  })
})

describe('--progress none (buildx 0.29)', () => {
  test('shows nothing, and unlike quiet prints no image ID', () => {
    const r = parse({}, '--progress', 'none', '.')
    expect(r.progress).toBe('quiet')
    expect(r.printImageId).toBe(false)
    expect(parse({}, '--progress', 'quiet', '.').printImageId).toBe(true)
    expect(parse({}, '-q', '.').printImageId).toBe(true)
    expect(parse({ BUILDKIT_PROGRESS: 'none' }, '.')).toMatchObject({ progress: 'quiet', printImageId: false })
  })

  test('-q with another mode is refused, as buildx refuses it', () => {
    expect(usageError(['-q', '--progress', 'plain', '.']).message).toBe('--progress=plain and --quiet cannot be used together')
  })
})

describe('--print from buildx before 0.15', () => {
  test.each(['outline', 'targets'])('--print=%s points at --call', (fn) => {
    const e = usageError([`--print=${fn}`, '.'])
    expect(e.hint).toMatch(new RegExp(`^did you mean --call=${fn}\\?`))
  })
})
