import type { Digest } from '../../common/digest.js'
import type { StatKey } from './statCache.js'

/** Kinds of entry a context carries; sockets, fifos and devices are left out of a context. */
export type EntryType = 'file' | 'dir' | 'symlink'

/**
 * What a COPY can observe about one context entry. Times are deliberately
 * absent: they never enter a checksum.
 */
export interface FileRecord {
  /** Root-relative, slash-separated; `''` is the root directory. */
  readonly path: string
  readonly type: EntryType
  /** Permission bits plus setuid/setgid/sticky (st_mode & 0o7777). */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Bytes for files, 0 otherwise. */
  readonly size: number
  /** For symlinks: the target exactly as stored. */
  readonly linkTarget?: string
  /** For files: sha256 of the content. */
  readonly digest?: Digest
  /**
   * For files: the stat the scan saw before reading them. A copy made later
   * compares it, so a file edited after it was hashed is never copied under
   * the old digest (the key would then name content the layer does not hold).
   */
  readonly seen?: StatKey
}

export interface ScanStats {
  /** Records in the snapshot, the root included. */
  entries: number
  /** Files whose content was read and hashed during this scan. */
  filesHashed: number
  bytesHashed: number
  /** Files whose digest came from the stat cache without reading them. */
  statCacheHits: number
}

/**
 * One scan of a context directory: the selected entries, parents before
 * children, and the sorted child names of every directory.
 */
export interface ContextSnapshot {
  /** Absolute, symlink-free path of the scanned directory. */
  readonly root: string
  readonly records: ReadonlyMap<string, FileRecord>
  readonly children: ReadonlyMap<string, readonly string[]>
  readonly stats: ScanStats
  /** When the scan began (ms since the epoch): a file changed since shortly before it may hide an edit from its stat. */
  readonly startedAt?: number
}
