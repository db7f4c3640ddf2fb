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

test('an oci-layout build context is recorded by a store id, not by its path on this host', () => {
  const definition: Definition = { ops: new Map(), metadata: new Map(), head: null }
  const req = {
    buildArgs: new Map(), labels: new Map(), noCache: false, noCacheFilter: [], network: 'default', dockerfile: { displayName: 'Dockerfile' },
    buildContexts: new Map([['base', { kind: 'oci-layout', path: '/home/alice/secret-project/layout', ref: 'v1' }]]),
  } as unknown as BuildRequest
  const recorder = new ProvenanceRecorder({ mode: 'max', version: 'v0.2', inlineOnly: false, reproducible: false }, [{ platform, definition }], req,
    { env: {}, dockerfileText: 'FROM base\n', startedOn: new Date(0) })
  const text = JSON.stringify(recorder.source().statements(platform, []))
  expect(text).not.toContain('/home/alice')
  expect(text).toMatch(/"context:base":"oci-layout:\/\/[0-9a-f]{25}:v1"/)
})
