import { expect, test } from 'vitest'
import { parseReference } from '../registry/index.js'
import { mountSourceFor } from './registryExport.js'

test.each([
  { target: 'localhost:5000/app:1', sources: ['localhost:5000/busybox:latest'], want: 'busybox' },
  { target: 'localhost:5000/app:1', sources: ['busybox', 'localhost:5000/base/img@sha256:' + 'a'.repeat(64)], want: 'base/img' },
  { target: 'localhost:5000/app:1', sources: ['localhost:5001/busybox'], want: undefined },
  { target: 'localhost:5000/app:1', sources: ['localhost:5000/app:0'], want: undefined },
  { target: 'user/app', sources: ['alpine:3.20'], want: 'library/alpine' },
  { target: 'user/app', sources: [], want: undefined },
])('mount source for $target from $sources is $want', ({ target, sources, want }) => {
  expect(mountSourceFor(parseReference(target), sources.map(parseReference))).toBe(want)
})
