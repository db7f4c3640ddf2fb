import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { findExecutable } from './command.js'

test('findExecutable searches PATH in order and skips files that are not executable', async () => {
  const [a, b] = await Promise.all([mkdtemp(join(tmpdir(), 'tsb-path-')), mkdtemp(join(tmpdir(), 'tsb-path-'))])
  await writeFile(join(a, 'tool'), '#!/bin/sh\n')
  await writeFile(join(b, 'tool'), '#!/bin/sh\n')
  await chmod(join(b, 'tool'), 0o755)
  expect(await findExecutable('tool', `${a}:${b}`)).toBe(join(b, 'tool'))
  expect(await findExecutable('absent', `${a}:${b}`)).toBeUndefined()
  expect(await findExecutable(join(b, 'tool'), '')).toBe(join(b, 'tool'))
})
