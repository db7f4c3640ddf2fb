import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { resolveSources } from '../ops/file/resolveSources.js'
import { includePatternsFor } from './followPaths.js'
import { scanContext } from './scanContext.js'
import { makeTree, type TreeSpec } from './testContext.js'

const spec: TreeSpec = {
  'app.txt': 'a',
  'real/file': 'r',
  'real/other': 'o',
  'link': { symlink: 'real' },
  'abs': { symlink: '/real/file' },
  'up': { symlink: '../../../real' },
  'chain': { symlink: 'link' },
  'dir/inner': { symlink: '../real/file' },
  'loop1': { symlink: 'loop2' },
  'loop2': { symlink: 'loop1' },
  'toRoot': { symlink: '.' },
  'odd/a*b': 'literal star',
  'odd/ab': 'not it',
  'starlink': { symlink: 'odd/a*b' },
  '!bang/f': 'bang',
  'banglink': { symlink: '!bang' },
  ' lead/f': 'leading blank',
  'trail /f': 'trailing blank',
  'trlink': { symlink: 'trail ' },
  'src/app.ts': 'ts',
  'src/b.js': 'js',
  'axyb': 'x',
  'a.json': 'a',
  'b.json': 'b',
  'junk/1': 'j',
  'deep/x /f': 'deep trailing blank',
  'deep/!y/f': 'deep bang',
  'phys/dir/.keep': '',
  'phys/f': 'DEEP',
  'f': 'TOP',
  'physlink': { symlink: 'phys/dir' },
  'dotdot': { symlink: 'physlink/../f' },
}

describe('includePatternsFor', () => {
  test.each<[string, string[], string[] | undefined]>([
    ['plain paths stay as they are', ['app.txt', 'real'], ['app.txt', 'real']],
    ['a link on the way brings its target', ['link/file'], ['link', 'real/file']],
    ['a link at the end brings the whole target', ['link'], ['link', 'real']],
    ['absolute targets resolve inside the root', ['abs'], ['abs', 'real/file']],
    ['targets cannot climb out of the root', ['up/other'], ['real/other', 'up']],
    ['chains are followed to the end', ['chain/file'], ['chain', 'link', 'real/file']],
    ['relative targets resolve from the link', ['dir/inner'], ['dir/inner', 'real/file']],
    ['a loop stops and keeps what it met', ['loop1'], ['loop1', 'loop2']],
    ['a missing path stays as a literal pattern', ['nope/x'], ['nope']],
    ['globs are expanded with the copy\'s rules (Go: ** is *)', ['src/**.ts', 'a**b'], ['axyb', 'src/app.ts']],
    ['[^a] negates and [!a] does not, as in the copy (Go)', ['[^a].json', '[!b].json'], ['b.json']],
    ['a glob follows the links it selects', ['lin?'], ['link', 'real']],
    ['glob characters in a link target are taken literally', ['starlink'], ['odd/a\\*b', 'starlink']],
    ['a leading ! or blank is escaped', ['banglink/f', ' lead/f', 'deep/!y'], ['\\ lead/f', '\\!bang/f', 'banglink', 'deep/\\!y']],
    ['a name ending in a blank cannot be a pattern: the scan widens', ['trlink/f'], undefined],
    ['... to the nearest parent that can be one', ['deep/x /f'], ['deep']],
    ['a link to the root and beyond', ['toRoot/app.txt', 'junk'], ['app.txt', 'junk', 'toRoot']],
    ['a link to the root itself needs everything', ['toRoot'], undefined],
    ['.. in a link target leaves the directory really reached, not the link', ['dotdot'], ['dotdot', 'phys/dir', 'phys/f', 'physlink']],
    ['a trailing blank at the top needs everything', ['trail '], undefined],
  ])('%s', (_name, followPaths, want) => {
    const got = includePatternsFor(makeTree(spec), followPaths)
    expect(got === undefined ? undefined : [...got].sort()).toEqual(want === undefined ? undefined : [...want].sort())
  })

  test('a long chain of links is followed as far as the copy follows it', () => {
    const root = makeTree({ 'real/file': 'r', 'l0': { symlink: 'real' } })
    for (let i = 1; i <= 60; i++) makeLink(root, `l${i}`, `l${i - 1}`)
    expect(includePatternsFor(root, ['l60/file'])).toContain('real/file')
  })

  test('a glob matching hundreds of names takes their directory', () => {
    const root = makeTree({})
    mkdirSync(path.join(root, 'many'))
    for (let i = 0; i < 300; i++) writeFileSync(path.join(root, 'many', `f${i}.txt`), '')
    expect(includePatternsFor(root, ['many/*.txt'])).toEqual(['many'])
  })

  test('thousands of matches in all give way to their directories', () => {
    const root = makeTree({})
    for (let d = 0; d < 30; d++) {
      mkdirSync(path.join(root, `p${d}`, 'src'), { recursive: true })
      for (let i = 0; i < 20; i++) writeFileSync(path.join(root, `p${d}`, 'src', `f${i}.ts`), '')
    }
    expect(includePatternsFor(root, ['p*/src/*.ts'])).toEqual(Array.from({ length: 30 }, (_, d) => `p${d}/src`).sort())
  })

  test('the scan has everything the copy\'s own source matching finds, through links and globs', async () => {
    const root = makeTree(spec)
    for (const src of ['link/file', 'starlink', 'src/**.ts', '[^a].json', '[!a].json', 'lin?', 'banglink/f', ' lead/f', 'trlink/f', 'chain/file', 'deep/x /f', 'deep/!y/f', 'dotdot']) {
      const patterns = includePatternsFor(root, [src])
      const snap = await scanContext(root, patterns === undefined ? {} : { includePatterns: patterns })
      for (const m of await resolveSources(root, src, { allowWildcard: true, followSymlinks: true })) {
        const real = path.relative(root, m.hostPath)
        expect(snap.records.has(real), `${src} → ${real}`).toBe(true)
      }
    }
  })
})

function makeLink (root: string, name: string, target: string): void {
  symlinkSync(target, path.join(root, name))
}
