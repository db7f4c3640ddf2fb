/**
 * CLI entry. Kept lean on purpose: `tsbuild --version` must not load the
 * engine, so every command lives in its own module under commands/ and is
 * imported only when it runs.
 */
import type { CommandIo } from './io.js'

/** Exit codes (documented in docs/cli.md). */
export const ExitCode = { ok: 0, failure: 1, usage: 2, internal: 70, cancelled: 130 } as const

/** Each command is imported only when it runs (a static table, so bundlers and Vitest can see it). */
const COMMANDS = {
  build: () => import('./commands/build.js'),
  debug: () => import('./commands/debug.js'),
  images: () => import('./commands/images.js'),
  rmi: () => import('./commands/rmi.js'),
  push: () => import('./commands/push.js'),
  save: () => import('./commands/save.js'),
  pull: () => import('./commands/pull.js'),
  inspect: () => import('./commands/inspect.js'),
  tag: () => import('./commands/tag.js'),
  doctor: () => import('./commands/doctor.js'),
  du: () => import('./commands/du.js'),
  prune: () => import('./commands/prune.js'),
  history: () => import('./commands/history.js'),
} satisfies Record<string, () => Promise<CommandModule>>
type CommandName = keyof typeof COMMANDS

/** Running from dist/bundle (the installed CLI), where commands are CommonJS files loaded with a code cache. */
const isBundled = import.meta.url.endsWith('/bundle/main.js')

async function loadBundledCommand (name: CommandName): Promise<CommandModule> {
  const [{ loadWithCodeCache }, { fileURLToPath }] = await Promise.all([import('./codeCache.js'), import('node:url')])
  return loadWithCodeCache(fileURLToPath(new URL(`./commands/${name}.cjs`, import.meta.url))) as CommandModule
}

export interface CommandModule {
  run (args: string[], io: CommandIo): Promise<number>
}

export async function main (argv: string[], io?: CommandIo): Promise<number> {
  const first = argv[0]
  if (first === '--version' || first === '-v' || first === 'version') {
    const { version } = await import('./version.js')
    ;(io?.stdout ?? process.stdout).write(`tsbuild ${version}\n`)
    return ExitCode.ok
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const { usage } = await import('./usage.js')
    ;(io?.stdout ?? process.stdout).write(usage)
    return first === undefined ? ExitCode.usage : ExitCode.ok
  }
  const { defaultIo } = await import('./io.js')
  const cio = io ?? defaultIo()
  // The bare form `tsbuild [OPTIONS] CONTEXT` is `tsbuild build`.
  const isCommand = Object.hasOwn(COMMANDS, first)
  const name: CommandName = isCommand ? (first as CommandName) : 'build'
  const rest = isCommand ? argv.slice(1) : argv
  try {
    const mod = isBundled ? await loadBundledCommand(name) : await COMMANDS[name]()
    return await mod.run(rest, cio)
  } catch (err) {
    const { reportError } = await import('./report.js')
    return reportError(err, cio)
  }
}
