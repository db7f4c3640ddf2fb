import { expect, test } from 'vitest'
import type { Digest } from '../common/digest.js'
import type { Definition, Op } from '../llb/index.js'
import { ProvenanceRecorder } from './provenance.js'
import type { BuildRequest } from './request.js'

const platform = { os: 'linux', architecture: 'amd64' }

test('a download\'s URL is recorded with its credentials masked, and its content digest', () => {
  const download: Op = { kind: 'source', identifier: 'https://user:s3cret@files.example/a.tgz', attrs: { type: 'http', url: 'https://user:s3cret@files.example/a.tgz' }, inputs: [] } as unknown as Op
  const digest = 'sha256:0a' as Digest
  const definition: Definition = { ops: new Map([[digest, download]]), metadata: new Map(), head: { digest, index: 0 } }
  const req = {
    buildArgs: new Map(), labels: new Map(), noCache: false, noCacheFilter: [], network: 'default', buildContexts: new Map(), dockerfile: { displayName: 'Dockerfile' },
  } as unknown as BuildRequest
  const recorder = new ProvenanceRecorder({ mode: 'max', version: 'v0.2', inlineOnly: false, reproducible: false }, [{ platform, definition }], req,
    { env: {}, dockerfileText: 'FROM scratch\n', startedOn: new Date(0) })
  recorder.onKey(digest, download, { content: `sha256:${'b'.repeat(64)}` })
  const [statement] = recorder.source().statements(platform, [])
  const text = JSON.stringify(statement)
  expect(text).not.toContain('s3cret')
  expect((statement as { predicate: { materials: unknown[] } }).predicate.materials).toEqual([{ uri: 'https://user:xxxxx@files.example/a.tgz', digest: { sha256: 'b'.repeat(64) } }])
})
