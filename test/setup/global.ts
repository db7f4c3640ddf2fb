// Global setup for the integration project: real services the tests share,
// started once and handed to tests with `inject(...)`. Add a service by
// appending one step to `services`; teardown runs in reverse order.
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { pushBusyboxImage } from './busybox-image.js'
import { startRegistry, type RegistryUser } from './registry.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of a plain loopback registry (no auth). */
    registry: string
    /** host:port of a loopback registry requiring basic auth, and its user. */
    authRegistry: { host: string } & RegistryUser
    /** `<registry>/busybox:latest`: busybox for linux/amd64 and linux/arm64 in the plain registry. */
    busybox: string
  }
}

type Teardown = () => Promise<void>
type Service = (project: TestProject) => Promise<Teardown>

let plainRegistry: string | undefined

const services: Service[] = [
  async (project) => {
    const plain = await startRegistry()
    plainRegistry = plain.host
    project.provide('registry', plain.host)
    return plain.stop
  },
  async (project) => {
    project.provide('busybox', await pushBusyboxImage(plainRegistry!))
    return async () => {}
  },
  async (project) => {
    const user = { username: 'tsbuild', password: 'correct horse battery' }
    const authed = await startRegistry({ htpasswd: user })
    project.provide('authRegistry', { host: authed.host, ...user })
    return authed.stop
  },
]

export default async function setup (project: TestProject): Promise<Teardown> {
  const teardowns: Teardown[] = []
  const teardown: Teardown = async () => {
    for (const t of teardowns.reverse()) await t().catch((err) => { console.error('integration teardown:', err) })
  }
  try {
    for (const start of services) teardowns.push(await start(project))
  } catch (err) {
    await teardown()
    throw err
  }
  return teardown
}
