/**
 * The build context source names the paths the build reads (BuildKit's
 * follow paths), so the client sends only those.
 */
import { describe, expect, test } from 'vitest'
import { parsePlatform } from '../../../common/platform.js'
import type { LocalSourceAttrs } from '../../../llb/index.js'
import { convertDockerfile } from './index.js'
import { request } from './testing.js'

async function contextAttrs (dockerfile: string, opts: Parameters<typeof request>[1] = {}): Promise<LocalSourceAttrs[]> {
  const res = await convertDockerfile(request(dockerfile, opts))
  const out: LocalSourceAttrs[] = []
  for (const p of res.platforms) {
    for (const op of p.definition.ops.values()) {
      if (op.kind === 'source' && op.attrs.type === 'local' && op.attrs.name === 'context') out.push(op.attrs)
    }
  }
  return out
}

describe('build context follow paths', () => {
  test.each([
    ['COPY and ADD sources, cleaned and sorted', 'FROM alpine\nCOPY b.txt ./dir/ /x/\nADD c.tar.gz /\nCOPY ./a/../a.txt /a\n', ['a.txt', 'b.txt', 'c.tar.gz', 'dir']],
    ['wildcards stay patterns', 'FROM alpine\nCOPY src/*.ts pkg?.json /app/\n', ['pkg?.json', 'src/*.ts']],
    ['variables are expanded first', 'FROM alpine\nARG DIR=conf\nCOPY $DIR/app.yml /etc/\n', ['conf/app.yml']],
    ['a bind mount of a context path', 'FROM alpine\nRUN --mount=type=bind,source=scripts,target=/s /s/run\n', ['scripts']],
    ['--parents reads from the last plain directory (its filter has .dockerignore rules)', 'FROM alpine\nCOPY --parents a/./b/*.txt /out/\n', ['a/b']],
    ['a bind mount source is a plain path, not a glob', 'FROM alpine\nRUN --mount=type=bind,source=[x],target=/s true\n', ['\\[x]']],
    ['URLs, --from and heredocs read no context path', 'FROM alpine AS base\nRUN true\nFROM alpine\nADD https://example.com/f.tgz /\nCOPY --from=base /etc /etc\nCOPY <<EOF /x\nhi\nEOF\nCOPY only.txt /\n', ['only.txt']],
  ])('%s', async (_name, dockerfile, paths) => {
    const attrs = await contextAttrs(dockerfile)
    expect(attrs).toHaveLength(1)
    expect(attrs[0]!.followPaths).toEqual(paths)
  })

  test.each([
    ['COPY . .', 'FROM alpine\nCOPY app.txt /\nCOPY . /src\n'],
    ['a bind mount of the whole context', 'FROM alpine\nCOPY app.txt /\nRUN --mount=type=bind,target=/src true\n'],
    ['a path that climbs out to the root', 'FROM alpine\nCOPY a/.. /x\n'],
    ['a source that would read as an exclusion pattern', 'FROM alpine\nCOPY !x /x\n'],
    ['--parents with a glob at the top', 'FROM alpine\nCOPY --parents **/*.txt /out/\n'],
  ])('everything is sent for %s', async (_name, dockerfile) => {
    const attrs = await contextAttrs(dockerfile)
    expect(attrs[0]!.followPaths).toEqual([])
  })

  test('stages the target does not reach add nothing', async () => {
    const attrs = await contextAttrs('FROM alpine AS unused\nCOPY . /all\nFROM alpine\nCOPY app.txt /\n')
    expect(attrs[0]!.followPaths).toEqual(['app.txt'])
  })

  test('one context source for all target platforms, reading what each platform reads', async () => {
    const attrs = await contextAttrs('FROM alpine\nARG TARGETARCH\nCOPY bin/$TARGETARCH/app /app\n', {
      targetPlatforms: [parsePlatform('linux/amd64'), parsePlatform('linux/arm64')],
    })
    expect(attrs).toHaveLength(2)
    expect(attrs[0]).toEqual(attrs[1])
    expect(attrs[0]!.followPaths).toEqual(['bin/amd64/app', 'bin/arm64/app'])
  })

  test('the .dockerignore patterns stay beside the follow paths', async () => {
    const attrs = await contextAttrs('FROM alpine\nCOPY app /app\n', { dockerignorePatterns: ['**/*.log'] })
    expect(attrs[0]).toMatchObject({ excludePatterns: ['**/*.log'], followPaths: ['app'] })
  })
})
