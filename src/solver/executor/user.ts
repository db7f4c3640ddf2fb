import { readFile } from 'node:fs/promises'
import { resolveInRoot } from '../../cache/snapshots/index.js'
import { TsbuildError } from '../../common/errors.js'

export interface ExecUser {
  uid: number
  gid: number
  additionalGids: number[]
}

/**
 * Resolve a Dockerfile USER value (`name`, `uid`, `name:group`, `uid:gid`)
 * against the image's /etc/passwd and /etc/group, read inside `rootfs`
 * (links re-anchored there, never followed onto the host). As runc's
 * libcontainer does, supplementary groups come from /etc/group only when no
 * group is given; a numeric uid missing from passwd runs with gid 0.
 */
export async function resolveUser (rootfs: string, spec: string): Promise<ExecUser> {
  const trimmed = spec.trim()
  if (trimmed === '') return { uid: 0, gid: 0, additionalGids: [] }
  const [userPart, groupPart] = splitOnce(trimmed, ':')
  const passwd = parseColonFile(await readInRoot(rootfs, '/etc/passwd'))
  const groups = parseColonFile(await readInRoot(rootfs, '/etc/group'))

  let uid: number
  let gid = 0
  let userName: string | undefined
  const byName = passwd.find((f) => f[0] === userPart)
  const numericUser = isNumeric(userPart)
  if (byName !== undefined && !numericUser) {
    uid = Number(byName[2]); gid = Number(byName[3]); userName = byName[0]
  } else if (numericUser) {
    uid = Number(userPart)
    const entry = passwd.find((f) => Number(f[2]) === uid)
    if (entry !== undefined) { gid = Number(entry[3]); userName = entry[0] }
  } else {
    throw new TsbuildError('NOT_FOUND', `unable to find user ${userPart}: no matching entries in the image's /etc/passwd`)
  }

  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = Number(groupPart)
    else {
      const g = groups.find((f) => f[0] === groupPart)
      if (g === undefined) throw new TsbuildError('NOT_FOUND', `unable to find group ${groupPart}: no matching entries in the image's /etc/group`)
      gid = Number(g[2])
    }
    return { uid, gid, additionalGids: [] }
  }
  const additional = userName === undefined
    ? []
    : groups.filter((f) => (f[3] ?? '').split(',').includes(userName!)).map((f) => Number(f[2])).filter((g) => g !== gid && Number.isInteger(g))
  return { uid, gid, additionalGids: [...new Set(additional)] }
}

async function readInRoot (rootfs: string, path: string): Promise<string> {
  const resolved = await resolveInRoot(rootfs, path, { followFinal: true })
  return await readFile(resolved, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EISDIR') return ''
    throw err
  })
}

function parseColonFile (text: string): string[][] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'))
}

function splitOnce (s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep)
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)]
}

function isNumeric (s: string): boolean {
  return /^\d+$/.test(s)
}
