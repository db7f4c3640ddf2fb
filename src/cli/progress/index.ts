import type { ProgressMode } from '../../engine/request.js'
import type { SolveEvent } from '../../solver/events.js'
import type { CommandIo } from '../io.js'
import { PlainPrinter } from './plain.js'

export interface Progress {
  handle (e: SolveEvent): void
  close (): void
}

/** Pick the progress display: auto is plain for now on every stream (a live tty view comes with the progress work). */
export function createProgress (mode: ProgressMode, io: CommandIo): Progress {
  switch (mode) {
    case 'quiet':
      return { handle: () => {}, close: () => {} }
    case 'rawjson':
      return {
        handle: (e) => { io.stderr.write(JSON.stringify(e.type === 'log' ? { ...e, data: Buffer.from(e.data).toString('base64') } : e) + '\n') },
        close: () => {},
      }
    default: {
      const p = new PlainPrinter(io.stderr)
      return { handle: (e) => p.handle(e), close: () => {} }
    }
  }
}
