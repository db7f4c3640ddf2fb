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
  imagetools: () => import('./commands/imagetools.js'),
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

/** Commands that only print: when the reader of their stdout goes away (`| head -1`), they stop at once, exit 0. */
const PRINT_ONLY = new Set(['--version', '-v', 'version', undefined, '--help', '-h', 'help', 'images', 'inspect', 'du', 'history', 'doctor'])

/**
 * A closed pipe must never end tsbuild with a stack trace. stderr carries
 * only progress and messages: a reader that left (`2>&1 | head -2`) must not
 * kill a build, so its write errors are dropped. On stdout, a listing has
 * nothing left to do; anything else carries on (a writer streaming a result
 * to stdout sees the error on its own stream and fails there).
 */
function tolerateClosedPipes (printOnly: boolean): void {
  process.stderr.on('error', () => {})
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      process.stderr.write(`ERROR: cannot write to stdout: ${err.message}\n`)
      process.exit(ExitCode.failure)
    }
    if (printOnly) process.exit(ExitCode.ok)
  })
}

export async function main (argv: string[], io?: CommandIo): Promise<number> {
  const first = argv[0]
  if (io === undefined) tolerateClosedPipes(PRINT_ONLY.has(first))
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
