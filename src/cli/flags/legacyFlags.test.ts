import { describe, expect, test } from 'vitest'
import { parseBuildArgs } from './buildFlags.js'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseBuildArgs(argv, '/work', env)

describe('docker build flags from before BuildKit', () => {
  test('resource and clean-up flags are taken and ignored, short forms included', () => {
    const r = parse(['--rm', '--force-rm=true', '--rm=false', '-m', '1g', '--memory-swap', '-1', '-c', '512', '--cpu-period', '100000', '--cpu-quota', '50000', '--cpuset-cpus', '0-1', '--cpuset-mems', '0', '--compress', '.'])
    expect(r.contextDir).toBe('/work')
    expect(r.flagWarnings).toBeUndefined()
  })

  test('--isolation, --security-opt and --squash are taken with a warning each', () => {
    const r = parse(['--isolation', 'default', '--security-opt', 'seccomp=unconfined', '--squash', '.'])
    expect(r.flagWarnings).toHaveLength(3)
    expect(r.flagWarnings![0]).toMatch(/^--isolation is ignored/)
    expect(r.flagWarnings![1]).toMatch(/^--security-opt is ignored: use RUN --security=insecure/)
    expect(r.flagWarnings![2]).toMatch(/^--squash is ignored/)
  })

  test('--cgroup-parent, which buildx honours, is refused rather than ignored', () => {
    expect(() => parse(['--cgroup-parent', 'ci.slice', '.'])).toThrow(/--cgroup-parent is not supported/)
  })
})

describe('BUILDKIT_PROGRESS', () => {
  test.each([
    [[], {}, 'auto'],
    [[], { BUILDKIT_PROGRESS: 'plain' }, 'plain'],
    [[], { BUILDKIT_PROGRESS: '' }, 'auto'],
    [['--progress', 'tty'], { BUILDKIT_PROGRESS: 'plain' }, 'tty'],
    [['-q'], { BUILDKIT_PROGRESS: 'plain' }, 'quiet'],
  ] as Array<[string[], NodeJS.ProcessEnv, string]>)('%j with %j gives %s', (argv, env, mode) => {
    expect(parse([...argv, '.'], env).progress).toBe(mode)
  })

  test('a bad value names the variable', () => {
    expect(() => parse(['.'], { BUILDKIT_PROGRESS: 'fancy' })).toThrow('invalid value "fancy" for BUILDKIT_PROGRESS')
  })
})
