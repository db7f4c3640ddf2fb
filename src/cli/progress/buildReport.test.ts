import { expect, test } from 'vitest'
import { classifyContextArg } from '../../common/contextArg.js'
import type { BuildRequest } from '../../engine/request.js'
import { summarizeRequest } from './buildReport.js'

const base = {
  dockerfile: { displayName: 'Dockerfile' }, tags: [], platforms: [], buildArgs: new Map(), outputs: [], push: false, noCache: false, secrets: [], ssh: [],
  labels: new Map(), noCacheFilter: [], network: 'default',
}

test.each([
  ['https://user:tok@example.com/ctx.tar.gz', 'https://user:xxxxx@example.com/ctx.tar.gz'],
  ['https://tok@host/org/repo.git#main:docker', 'https://xxxxx@host/org/repo.git#main:docker'],
  ['git@host:org/repo.git#v1', 'git@host:org/repo.git#v1'],
])('a context from %s is recorded as its URL, credentials masked, not as the temp dir', (url, recorded) => {
  const remoteContext = classifyContextArg(url)
  const req = { ...base, contextDir: '/var/lib/tsbuild/tmp/git-context-x/context', remoteContext } as unknown as BuildRequest
  expect(summarizeRequest(req).context).toBe(recorded)
})

test.each([
  [{ contextDir: '/tmp/stdin-context-x/context', contextFromStdin: true }, '-'],
  [{ contextDir: '/src/app' }, '/src/app'],
])('a local or stdin context is recorded as %j', (fields, recorded) => {
  expect(summarizeRequest({ ...base, ...fields } as unknown as BuildRequest).context).toBe(recorded)
})
