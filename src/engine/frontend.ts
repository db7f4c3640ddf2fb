import { readFile, stat } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import { sha256 } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import { hostPlatform, type Platform } from '../common/platform.js'
import { convertDockerfile, type ImageMetaResolver } from '../frontend/dockerfile/convert/index.js'
import { loadDockerignore } from '../solver/context/index.js'
import { ImageSource } from '../solver/images/index.js'
import { memoizeResolver, runChecks } from './checks.js'
import type { BuildRequest } from './request.js'
import { openServices } from './services.js'

/** Base images as empty configs, for work that needs none of their contents. */
const offlineResolver: ImageMetaResolver = {
  async resolveImageConfig (ref, { platform }) {
    return {
      ref,
      digest: sha256(`offline ${ref}`),
      config: { architecture: platform.architecture, os: platform.os, ...(platform.variant !== undefined ? { variant: platform.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] } },
    }
  },
}

/** Read the Dockerfile and convert it; shared by builds and by --print/--call. */
export async function frontend (req: BuildRequest, opts: { stateDir: string; env: NodeJS.ProcessEnv; signal?: AbortSignal }) {
  const text = req.dockerfile.content ?? await readDockerfile(req)
  const services = await openServices(opts.stateDir, opts.env)
  const images = new ImageSource({ images: services.images, content: services.content, registry: services.registry, pull: req.pull, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
  const ignore = await loadDockerignore({ contextDir: req.contextDir, ...(req.dockerfile.path !== undefined ? { dockerfilePath: req.dockerfile.path } : {}) })
  const buildArgs = new Map(req.buildArgs)
  // As buildx: SOURCE_DATE_EPOCH in the environment is passed on as a build arg.
  if (!buildArgs.has('SOURCE_DATE_EPOCH') && opts.env.SOURCE_DATE_EPOCH !== undefined && opts.env.SOURCE_DATE_EPOCH !== '') buildArgs.set('SOURCE_DATE_EPOCH', opts.env.SOURCE_DATE_EPOCH)
  const epoch = buildArgs.get('SOURCE_DATE_EPOCH')
  const sourceDateEpoch = epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) : undefined
  const targetPlatforms: Platform[] = req.platforms.length > 0 ? req.platforms : [hostPlatform()]
  // Listing the targets reads the Dockerfile only (as BuildKit does): no registry is asked about base images.
  const resolver = memoizeResolver(req.call === 'targets' ? offlineResolver : images)
  const checks = await runChecks({
    text, file: req.dockerfile.displayName, buildArgs, targetPlatform: targetPlatforms[0]!, buildPlatform: hostPlatform(),
    ...(ignore.file !== undefined ? { ignorePatterns: ignore.patterns } : {}), resolver, namedContexts: new Set(req.buildContexts.keys()),
    // As BuildKit: --check without --target covers every stage, a build only what its target needs.
    ...(req.target !== undefined ? { target: req.target } : {}), isAllStages: req.call === 'check' && (req.target ?? '') === '',
  })
  const converted = await convertDockerfile({
    dockerfile: text,
    file: req.dockerfile.displayName,
    targetPlatforms,
    buildPlatform: hostPlatform(),
    buildArgs,
    ...(req.target !== undefined ? { target: req.target } : {}),
    labels: req.labels,
    dockerignorePatterns: ignore.patterns,
    namedContexts: req.buildContexts,
    noCacheFilter: req.noCacheFilter,
    imageResolver: resolver,
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    network: req.network,
    ...(req.extraHosts !== undefined ? { extraHosts: req.extraHosts } : {}),
    ...(req.shmSize !== undefined ? { shmSize: req.shmSize } : {}),
    ...(req.ulimits !== undefined ? { ulimits: req.ulimits } : {}),
  })
  return { converted, checks, services, images, sourceDateEpoch, text }
}

async function readDockerfile (req: BuildRequest): Promise<string> {
  const path = req.dockerfile.path!
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const shown = relative(process.cwd(), path) || path
    if (code === 'ENOENT') throw new TsbuildError('NOT_FOUND', `failed to read dockerfile: open ${shown}: no such file or directory`, { hint: await missingDockerfileHint(req) })
    // `-f DIR` (a habit from tools that take the Dockerfile's directory): name the file it holds.
    if (code === 'EISDIR') throw new TsbuildError('IO', `failed to read dockerfile: read ${shown}: is a directory`, { hint: `-f takes the Dockerfile's path, e.g. -f ${join(shown, 'Dockerfile')}` })
    throw new TsbuildError('IO', `failed to read dockerfile ${shown}: ${code ?? (err as Error).message}`, { cause: err })
  }
}

/**
 * `-f` is relative to the working directory, as in buildx; kaniko's
 * --dockerfile and buildah's -f look in the context too. When the file is
 * there (or buildah's Containerfile is), name the path that works.
 */
async function missingDockerfileHint (req: BuildRequest): Promise<string> {
  const given = req.dockerfile.displayName
  if (req.dockerfile.path !== undefined && !isAbsolute(given) && req.contextDir !== '') {
    const inContext = join(req.contextDir, given)
    if (inContext !== req.dockerfile.path && await stat(inContext).then((s) => s.isFile(), () => false)) {
      return `-f is relative to the working directory, not to the context: did you mean -f ${relative(process.cwd(), inContext) || inContext}?`
    }
  }
  // buildah and podman read a Containerfile when there is no Dockerfile; buildx does not.
  const containerfile = join(req.contextDir, 'Containerfile')
  if (req.dockerfile.path === join(req.contextDir, 'Dockerfile') && await stat(containerfile).then((s) => s.isFile(), () => false)) {
    return `did you mean -f ${relative(process.cwd(), containerfile) || containerfile}? (buildah's default name; tsbuild, as buildx, reads CONTEXT/Dockerfile)`
  }
  return 'pass the Dockerfile with -f, or run tsbuild in the directory that has one'
}
