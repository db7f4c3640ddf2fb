import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TsbuildError } from '../common/errors.js'

/** Credentials for one registry: a user/password pair, or an identity (refresh) token. */
export type Credentials =
  | { readonly username: string; readonly password: string }
  | { readonly identityToken: string }

/**
 * Where registry credentials come from. The build request supplies one, so a
 * daemon can answer with the client's credentials instead of its own.
 */
export interface CredentialStore {
  /** Credentials for a registry host (`docker.io`, `localhost:5000`); undefined for anonymous. */
  get (registry: string): Promise<Credentials | undefined>
}

/** No credentials at all: every request is anonymous. */
export const anonymousCredentials: CredentialStore = { get: async () => undefined }

/** A fixed map host → credentials, for embedding and tests. */
export function staticCredentials (entries: Record<string, Credentials>): CredentialStore {
  return { get: async (registry) => entries[registry] }
}

// Docker stores Docker Hub credentials under its old v1 index URL.
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/'

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>
  credHelpers?: Record<string, string>
  credsStore?: string
}

export interface DockerConfigOptions {
  /** The environment to read DOCKER_CONFIG and HOME from (the client's, not this process's). */
  env: Readonly<Record<string, string | undefined>>
  /** Runs `docker-credential-<helper> get`; replaceable so tests need no helper binary. */
  runHelper?: (helper: string, serverUrl: string) => Promise<string>
}

/**
 * Credentials from `$DOCKER_CONFIG/config.json` (default `$HOME/.docker`):
 * `credHelpers[host]`, then `credsStore`, then `auths` (base64 `auth` or
 * username/password). The file is read once, on first use.
 */
export function dockerConfigCredentials (opts: DockerConfigOptions): CredentialStore {
  const dir = opts.env.DOCKER_CONFIG ?? (opts.env.HOME !== undefined ? join(opts.env.HOME, '.docker') : undefined)
  const file = dir !== undefined ? join(dir, 'config.json') : undefined
  const runHelper = opts.runHelper ?? ((helper, url) => runCredentialHelper(helper, url, opts.env))
  let loaded: Promise<DockerConfigFile> | undefined
  return {
    async get (registry) {
      loaded ??= readDockerConfig(file)
      const config = await loaded
      const serverUrl = registry === 'docker.io' ? DOCKER_HUB_KEY : registry
      const helper = config.credHelpers?.[registry] ?? config.credsStore
      if (helper !== undefined && helper !== '') {
        const fromHelper = parseHelperOutput(await runHelper(helper, serverUrl), helper, registry)
        if (fromHelper !== undefined) return fromHelper
      }
      const entry = findAuthEntry(config.auths ?? {}, registry)
      if (entry === undefined) return undefined
      if (entry.identitytoken) return { identityToken: entry.identitytoken }
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
        const sep = decoded.indexOf(':')
        if (sep < 0) throw new TsbuildError('UNAUTHORIZED', `${file}: the "auth" entry for ${registry} is not base64 of user:password`)
        return { username: decoded.slice(0, sep), password: decoded.slice(sep + 1) }
      }
      if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password }
      return undefined
    },
  }
}

async function readDockerConfig (file: string | undefined): Promise<DockerConfigFile> {
  if (file === undefined) return {}
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new TsbuildError('IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    return JSON.parse(text) as DockerConfigFile
  } catch (err) {
    throw new TsbuildError('IO', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
}

/** Keys may be bare hosts or URLs (`https://host/v1/`); compare by host. */
function findAuthEntry<T> (auths: Record<string, T>, registry: string): T | undefined {
  if (auths[registry] !== undefined) return auths[registry]
  for (const [key, value] of Object.entries(auths)) {
    const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')
    if (host === registry) return value
    if (registry === 'docker.io' && (host === 'index.docker.io' || host === 'registry-1.docker.io')) return value
  }
  return undefined
}

function parseHelperOutput (out: string, helper: string, registry: string): Credentials | undefined {
  if (out.trim() === '') return undefined
  let parsed: { Username?: string; Secret?: string }
  try {
    parsed = JSON.parse(out) as typeof parsed
  } catch {
    throw new TsbuildError('UNAUTHORIZED', `docker-credential-${helper} returned invalid JSON for ${registry}`)
  }
  if (parsed.Secret === undefined) return undefined
  // Docker's convention: the user name `<token>` marks an identity token.
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret }
  return { username: parsed.Username ?? '', password: parsed.Secret }
}

/** Runs `docker-credential-<helper> get`; a "not found" answer means no credentials. */
export function runCredentialHelper (helper: string, serverUrl: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  return new Promise((resolve, reject) => {
    const bin = `docker-credential-${helper}`
    const child = spawn(bin, ['get'], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c })
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c })
    child.on('error', (err) => {
      reject(new TsbuildError('MISSING_DEPENDENCY', `credential helper ${bin} could not be started: ${err.message}`, { cause: err }))
    })
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout)
      if (/credentials not found/i.test(stdout + stderr)) return resolve('')
      reject(new TsbuildError('UNAUTHORIZED', `credential helper ${bin} failed for ${serverUrl}: ${(stdout + stderr).trim() || `exit ${code}`}`))
    })
    child.stdin.end(serverUrl)
  })
}
