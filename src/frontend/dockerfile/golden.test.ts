/**
 * Golden cases under fixtures/dockerfiles/<case>/: the AST dump (ast.txt), the
 * merged two-platform LLB graph (llb.json) and the image config of each
 * platform (image.json). Regenerate only on purpose: UPDATE_GOLDEN=1.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { parsePlatform } from '../../common/platform.js'
import { definitionToJson, mergeDefinitions } from '../../llb/index.js'
import { convertDockerfile } from './convert/index.js'
import { fakeResolver, request } from './convert/testing.js'
import { dumpAst, parse } from './parser/index.js'

const root = fileURLToPath(new URL('../../../fixtures/dockerfiles/', import.meta.url))
const update = process.env.UPDATE_GOLDEN === '1'
const cases = readdirSync(root).filter((d) => existsSync(join(root, d, 'Dockerfile'))).sort()

function golden (file: string, actual: string): void {
  if (update || !existsSync(file)) {
    if (!update) throw new Error(`${file} is missing: run with UPDATE_GOLDEN=1 to create it`)
    writeFileSync(file, actual)
    return
  }
  expect(actual).toBe(readFileSync(file, 'utf8'))
}

describe.each(cases)('golden %s', (name) => {
  const dir = join(root, name)
  const text = readFileSync(join(dir, 'Dockerfile'), 'utf8')

  test('AST dump', () => {
    golden(join(dir, 'ast.txt'), dumpAst(parse(text).nodes))
  })

  test('LLB for linux/amd64 + linux/arm64, and the image configs', async () => {
    const res = await convertDockerfile(request(text, {
      targetPlatforms: [parsePlatform('linux/amd64'), parsePlatform('linux/arm64')],
      imageResolver: fakeResolver(),
      sourceDateEpoch: 0,
    }))
    golden(join(dir, 'llb.json'), JSON.stringify(definitionToJson(mergeDefinitions(res.platforms.map((p) => p.definition))), null, 2) + '\n')
    golden(join(dir, 'image.json'), JSON.stringify(res.platforms.map((p) => p.image), null, 2) + '\n')
  })
})
