// What README.md and docs/cli.md promise about the command line, checked
// against the built CLI: the commands and build flags they name, and the
// usage each command prints.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { REPO, ensureBuilt, freshDir, runTsbuild } from '../helpers/tsbuild.js'

let root: string
let help: string
const readme = (): Promise<string> => readFile(join(REPO, 'README.md'), 'utf8')
const cliDoc = (): Promise<string> => readFile(join(REPO, 'docs/cli.md'), 'utf8')

beforeAll(async () => {
  await ensureBuilt()
  root = await freshDir('tsbuild-docs-')
  const r = await runTsbuild(['--help'], { root })
  expect(r.code).toBe(0)
  help = r.stdout
})

const commandsInHelp = (): string[] => {
  const section = help.slice(help.indexOf('Commands:'))
  return [...section.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!)
}

describe('the commands the docs name', () => {
  test('README lists every command --help lists, and no other', async () => {
    const text = await readme()
    const para = text.slice(text.indexOf('Other commands:'), text.indexOf('As with BuildKit'))
    const named = new Set(['build', ...[...para.matchAll(/`([a-z]+)/g)].map((m) => m[1]!)])
    expect(commandsInHelp().sort()).toEqual([...named].sort())
  })

  test.each(['images', 'inspect', 'pull', 'push', 'save', 'rmi', 'tag', 'doctor', 'du', 'prune', 'history', 'imagetools', 'debug'])('tsbuild %s --help prints its usage and exits 0', async (command) => {
    const r = await runTsbuild([command, '--help'], { root })
    expect(r.code).toBe(0)
    expect(r.stdout.toLowerCase()).toContain(`usage: tsbuild ${command}`)
  })

  test.each([
    ['save', ['--format docker|oci', '--platform']],
    ['pull', ['--platform', '--insecure-registry', '-q']],
    ['push', ['--insecure-registry', '-q']],
    ['prune', ['--all', '--filter', '--keep-storage', '--verbose', '-f']],
    ['images', ['--format table|json']],
  ] as const)('docs/cli.md gives the %s flags its --help lists', async (command, flags) => {
    const r = await runTsbuild([command, '--help'], { root })
    const doc = await cliDoc()
    const line = doc.split('\n').find((l) => l.startsWith(`tsbuild ${command} `) || l.startsWith(`\`tsbuild ${command} `))
    expect(line, `a usage line for ${command} in docs/cli.md`).toBeDefined()
    for (const flag of flags) {
      expect(r.stdout).toContain(flag)
      expect(line).toContain(flag)
    }
  })
})

describe('build flags', () => {
  test.each(['--check', '--explain', '--quiet', '--attest', '--annotation', '--builder', '--max-parallelism', '--provenance', '--sbom'])('build --help lists %s, which docs/cli.md describes', async (flag) => {
    const r = await runTsbuild(['build', '--help'], { root })
    expect(r.stdout).toContain(flag)
    expect(await cliDoc()).toContain(`\`${flag}`)
  })

  test('an option tsbuild cannot carry out is refused, as the README says (exit 2)', async () => {
    const ctx = await freshDir('tsbuild-docs-ctx-')
    for (const args of [['--sbom=true'], ['--cgroup-parent', 'x']]) {
      const r = await runTsbuild(['build', ...args, ctx], { root })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^ERROR: /m)
    }
  })
})
