/** `tsbuild debug dump-ast [FILE|-]`: print a Dockerfile's AST in BuildKit's dump format. */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import type { CommandIo } from '../io.js'

const usage = 'usage: tsbuild debug dump-ast [FILE|-]'

async function readStdin (io: CommandIo): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function readDockerfile (arg: string | undefined, io: CommandIo): Promise<{ text: string; file: string }> {
  if (arg === undefined || arg === '-') return { text: await readStdin(io), file: '<stdin>' }
  try {
    return { text: await readFile(resolve(io.cwd, arg), 'utf8'), file: arg }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TsbuildError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `cannot read ${arg}: ${(err as Error).message}`, { cause: err })
  }
}

export async function run (args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === '--help' || sub === '-h') { io.stdout.write(`${usage}\n`); return 0 }
  if (sub !== 'dump-ast') throw new TsbuildError('USAGE', sub === undefined ? `missing subcommand; ${usage}` : `unknown debug subcommand "${sub}"; ${usage}`)
  if (rest.length > 1) throw new TsbuildError('USAGE', `too many arguments; ${usage}`)
  const { text, file } = await readDockerfile(rest[0], io)
  const { parse, dumpAst } = await import('../../frontend/dockerfile/parser/index.js')
  const result = parse(text, { file })
  io.stdout.write(dumpAst(result.nodes))
  return 0
}
