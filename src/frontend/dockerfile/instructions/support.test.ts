import { expect, test } from 'vitest'
import { parseChmod } from './chmod.js'
import { parseDuration } from './duration.js'
import { suggest } from './suggest.js'

test.each([
  ['0', 0], ['5s', 5e9], ['1h2m3s', 3723e9], ['1.5s', 1.5e9], ['300ms', 3e8], ['10us', 1e4], ['10µs', 1e4],
  ['7ns', 7], ['-2m', -120e9], ['+1h', 3600e9], ['', undefined], ['5', undefined], ['1d', undefined], ['s', undefined], ['1..2s', undefined],
])('parseDuration(%j)', (text, want) => {
  expect(parseDuration(text)).toBe(want)
})

test.each([
  ['755', { kind: 'octal', mode: 0o755 }],
  ['0644', { kind: 'octal', mode: 0o644 }],
  ['u+x,g-w', { kind: 'symbolic', clauses: ['u+x', 'g-w'] }],
  ['a=rX', { kind: 'symbolic', clauses: ['a=rX'] }],
  ['+x', { kind: 'symbolic', clauses: ['+x'] }],
  ['888', undefined], ['u+q', undefined], ['rwx', undefined], ['', undefined],
])('parseChmod(%j)', (text, want) => {
  expect(parseChmod(text)).toEqual(want)
})

test.each([
  ['RUNN', 'RUN'], ['cpoy', 'COPY'], ['WORKDIRR', 'WORKDIR'], ['XYZZY', undefined],
])('suggest(%s)', (word, want) => {
  expect(suggest(word, ['RUN', 'COPY', 'WORKDIR', 'FROM'])).toBe(want)
})
