import { join } from 'node:path'
import type { Platform } from '../common/platform.js'
import { CacheMountManager, SecretProvider, SshAgents } from '../solver/mounts/index.js'
import type { ImageProvider, MountProviders } from '../solver/ops/types.js'
import type { ImageSource } from '../solver/images/index.js'
import type { BuildRequest } from './request.js'

/** RUN mounts for one build, from what the request carries. */
export function mountProviders (req: BuildRequest, stateDir: string, env: NodeJS.ProcessEnv): { providers: MountProviders; close: () => Promise<void> } {
  const secrets = new SecretProvider(req.secrets, env)
  const ssh = new SshAgents(req.ssh, env, join(stateDir, 'tmp'))
  const caches = new CacheMountManager(stateDir)
  return {
    providers: {
      secret: async (id) => await secrets.get(id),
      ssh: async (id) => {
        const socketPath = await ssh.socketFor(id)
        return socketPath === undefined ? undefined : { socketPath, release: async () => {} }
      },
      cache: async (o, signal) => await caches.acquire(o, signal),
    },
    close: async () => { await ssh.close() },
  }
}

/** The solver's view of base images: resolve (for the cache key) and pull (only on a miss). */
export function imageProvider (images: ImageSource): ImageProvider {
  return {
    resolve: async (ref: string, platform: Platform) => ({ digest: (await images.resolveImageConfig(ref, { platform })).digest }),
    pullLayers: async (ref: string, platform: Platform) => await images.layers(ref, platform),
  }
}
