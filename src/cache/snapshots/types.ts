/** An active, writable (or read-only view) snapshot, chosen by the caller. */
export type SnapshotKey = string & { readonly __brand: 'SnapshotKey' }
/** A committed, immutable snapshot. */
export type SnapshotName = string & { readonly __brand: 'SnapshotName' }

export const snapshotKey = (s: string): SnapshotKey => s as SnapshotKey
export const snapshotName = (s: string): SnapshotName => s as SnapshotName

/** What a snapshot sits on: one committed name or an ordered stack (bottom first). */
export type SnapshotParents = SnapshotName | readonly SnapshotName[]

/** A mount as containerd describes it; `mountAll` performs it on the host. */
export interface Mount {
  readonly type: 'overlay' | 'bind'
  readonly source: string
  readonly options: readonly string[]
}

export type SnapshotterBackend = 'overlay' | 'copy'

export interface SnapshotInfo {
  readonly name: SnapshotName
  readonly id: string
  /** Direct parents, bottom first; each expands to its own chain. */
  readonly parents: readonly SnapshotName[]
  /** The diff directory in overlay format (whiteouts are char 0/0, opaque dirs carry the xattr). */
  readonly diffPath: string
  /** When the layer was made (ISO 8601): an exported image's history takes its times from its layers. */
  readonly created: string
}

/** The on-disk record beside each snapshot's `fs` dir. */
export interface SnapshotMeta {
  kind: 'active' | 'view' | 'committed'
  key?: string
  name?: string
  parents: string[]
  pid: number
  created: string
}
