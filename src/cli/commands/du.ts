import { TsbuildError } from '../../common/errors.js'
import type { CommandIo } from '../io.js'

export async function run (_args: string[], _io: CommandIo): Promise<number> {
  throw new TsbuildError('NOT_IMPLEMENTED_YET', 'tsbuild du is not available in this version yet')
}
