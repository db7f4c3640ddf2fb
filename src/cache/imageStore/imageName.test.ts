import { describe, expect, test } from 'vitest'
import { parseImageName } from './imageName.js'

const D = 'sha256:' + 'a'.repeat(64)

describe('parseImageName', () => {
  test.each([
    ['app', 'docker.io/library/app:latest', 'app'],
    ['app:latest', 'docker.io/library/app:latest', 'app'],
    ['docker.io/library/app:latest', 'docker.io/library/app:latest', 'app'],
    ['index.docker.io/library/app', 'docker.io/library/app:latest', 'app'],
    ['app:v1', 'docker.io/library/app:v1', 'app:v1'],
    ['me/app', 'docker.io/me/app:latest', 'me/app'],
    ['localhost:5000/app', 'localhost:5000/app:latest', 'localhost:5000/app'],
    ['localhost/app:1.0', 'localhost/app:1.0', 'localhost/app:1.0'],
    ['reg.example.com/a/b/c:x_y', 'reg.example.com/a/b/c:x_y', 'reg.example.com/a/b/c:x_y'],
    [`app@${D}`, `docker.io/library/app@${D}`, `app@${D}`],
    [`app:v2@${D}`, `docker.io/library/app:v2@${D}`, `app:v2@${D}`],
  ])('%s → %s (ref name %s)', (input, fullName, refName) => {
    expect(parseImageName(input)).toMatchObject({ fullName, refName })
  })

  test.each([
    ['app', 'docker.io/library/app', undefined],
    ['localhost:5000/a/b:v1', 'localhost:5000/a/b', undefined],
    [`app@${D}`, 'docker.io/library/app', D],
    [`reg.example.com/app:v2@${D}`, 'reg.example.com/app', D],
  ])('%s is repository %s, digest %s', (input, repository, digest) => {
    const parsed = parseImageName(input)
    expect(parsed.repository).toBe(repository)
    expect(parsed.digest).toBe(digest)
  })

  test.each(['', 'App', 'app:', 'app:-x', 'app@sha256:123', 'a//b', 'app:' + 'x'.repeat(129), '/app'])('%j is refused', (input) => {
    expect(() => parseImageName(input)).toThrowError(expect.objectContaining({ code: 'INVALID_REFERENCE' }))
  })
})
