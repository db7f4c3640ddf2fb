import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { TsbuildError } from '../../common/errors.js'
import { formatPlatform, hostPlatform, normalizePlatform, platformEquals, type Platform } from '../../common/platform.js'

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc'

// The names qemu-user-static registers its binfmt_misc handlers under, per OCI architecture.
const QEMU_ARCH: Record<string, string> = {
  amd64: 'x86_64', '386': 'i386', arm64: 'aarch64', arm: 'arm', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64le: 'mips64el', loong64: 'loongarch64',
}

/** Platforms this host can execute: its own, plus every architecture with an enabled binfmt_misc handler. */
export async function listRunnablePlatforms (): Promise<Platform[]> {
  const out: Platform[] = [hostPlatform()]
  const handlers = await enabledHandlers()
  for (const [arch, qemuName] of Object.entries(QEMU_ARCH)) {
    if (platformEquals({ os: 'linux', architecture: arch }, out[0]!)) continue
    if (handlers.has(qemuName)) out.push(normalizePlatform({ os: 'linux', architecture: arch }))
  }
  return out
}

export async function canRunPlatform (platform: Platform): Promise<boolean> {
  const p = normalizePlatform(platform)
  if (p.os !== 'linux') return false
  const host = hostPlatform()
  if (p.architecture === host.architecture) return true
  const qemuName = QEMU_ARCH[p.architecture]
  return qemuName !== undefined && (await enabledHandlers()).has(qemuName)
}

/** Throw a TsbuildError naming what to install when `platform` cannot run here. */
export async function assertCanRunPlatform (platform: Platform): Promise<void> {
  if (await canRunPlatform(platform)) return
  const p = formatPlatform(normalizePlatform(platform))
  throw new TsbuildError('MISSING_DEPENDENCY', `cannot run ${p} binaries on this ${formatPlatform(hostPlatform())} host: no binfmt_misc handler for ${p}`, {
    hint: 'install qemu user emulation and its binfmt_misc handlers: apt-get install qemu-user-static binfmt-support',
  })
}

/** Architecture names (as qemu spells them) with an enabled handler. */
async function enabledHandlers (): Promise<Set<string>> {
  await ensureBinfmtMounted()
  const found = new Set<string>()
  const status = await readFile(join(BINFMT_DIR, 'status'), 'utf8').catch(() => 'disabled')
  if (status.trim() !== 'enabled') return found
  for (const entry of await readdir(BINFMT_DIR).catch(() => [] as string[])) {
    if (entry === 'status' || entry === 'register') continue
    const text = await readFile(join(BINFMT_DIR, entry), 'utf8').catch(() => '')
    if (!text.startsWith('enabled')) continue
    const interpreter = /^interpreter (.*)$/m.exec(text)?.[1] ?? ''
    for (const name of Object.values(QEMU_ARCH)) {
      if (entry === `qemu-${name}` || interpreter.endsWith(`/qemu-${name}`) || interpreter.endsWith(`/qemu-${name}-static`) || interpreter.endsWith(`/${name}-binfmt-P`)) found.add(name)
    }
  }
  return found
}

let mounting: Promise<void> | undefined

async function ensureBinfmtMounted (): Promise<void> {
  mounting ??= (async () => {
    const present = await readFile(join(BINFMT_DIR, 'status'), 'utf8').then(() => true, () => false)
    if (present) return
    await new Promise<void>((resolve) => {
      const child = spawn('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR], { stdio: 'ignore' })
      child.on('error', () => resolve())
      child.on('close', () => resolve())
    })
  })()
  await mounting
}
