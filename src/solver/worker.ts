import type { ContentProvider, LayerIndex, RecordStore } from '../cache/index.js'
import type { Snapshotter } from '../cache/snapshots/index.js'
import type { Op, SourceOp } from '../llb/index.js'
import { TsbuildError } from '../common/errors.js'
import type { RuncExecutor } from './executor/index.js'
import { buildSolverGraph } from './graph.js'
import { ExecRunner } from './ops/exec.js'
import { FileOpRunner } from './ops/fileOp.js'
import { DiffRunner, MergeRunner } from './ops/mergeDiff.js'
import { ImageSourceRunner } from './ops/source/image.js'
import { LocalSourceRunner } from './ops/source/local.js'
import type { ImageProvider, MountProviders } from './ops/types.js'
import type { OpRunner } from './scheduler/index.js'

/**
 * Everything the ops of one solve need, wired in one place (BuildKit's
 * worker). The engine creates one per build; nothing here reads the process
 * environment.
 */
export interface WorkerDeps {
  stateDir: string
  snapshotter: Snapshotter
  executor: RuncExecutor
  content: ContentProvider
  records: RecordStore
  layerIndex: LayerIndex
  images: ImageProvider
  mounts: MountProviders
  localDirs: ReadonlyMap<string, string>
  /** Extra source kinds (http, git) plug in here. */
  sourceRunners?: Partial<Record<'http' | 'git', (op: SourceOp) => OpRunner>>
}

export function makeRunnerFactory (deps: WorkerDeps) {
  return (op: Op, inputOps: readonly Op[]): OpRunner => {
    const inputIsLocal = inputOps.map((o) => o.kind === 'source' && o.attrs.type === 'local')
    switch (op.kind) {
      case 'source':
        switch (op.attrs.type) {
          case 'image': return new ImageSourceRunner(op, { images: deps.images, content: deps.content, snapshotter: deps.snapshotter, layerIndex: deps.layerIndex })
          case 'local': return new LocalSourceRunner(op, { dirs: deps.localDirs, stateDir: deps.stateDir, snapshotter: deps.snapshotter })
          case 'http':
          case 'git': {
            const make = deps.sourceRunners?.[op.attrs.type]
            if (make === undefined) throw new TsbuildError('NOT_IMPLEMENTED_YET', `${op.attrs.type} sources are not available in this build of tsbuild`)
            return make(op)
          }
        }
        break
      case 'exec': return new ExecRunner(op, { snapshotter: deps.snapshotter, executor: deps.executor, mounts: deps.mounts, inputIsLocal })
      case 'file': return new FileOpRunner(op, { snapshotter: deps.snapshotter, stateDir: deps.stateDir, inputIsLocal })
      case 'merge': return new MergeRunner(op)
      case 'diff': return new DiffRunner(op)
    }
    throw new Error(`unknown op kind ${(op as Op).kind}`)
  }
}

export { buildSolverGraph }
