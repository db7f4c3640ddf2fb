import { describe, expect, test } from 'vitest'
import { includePatternsFor } from './followPaths.js'
import { scanContext } from './scanContext.js'
import { makeTree } from './testContext.js'

describe('includePatternsFor', () => {
  const tree = (): string => makeTree({
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
    'junk/1': 'j',
  })

  test.each<[string, string[], string[] | undefined]>([
    ['plain paths stay as they are', ['app.txt', 'real'], ['app.txt', 'real']],
    ['a link on the way brings its target', ['link/file'], ['link', 'link/file', 'real/file']],
    ['a link at the end brings the whole target', ['link'], ['link', 'real']],
    ['absolute targets resolve inside the root', ['abs'], ['abs', 'real/file']],
    ['targets cannot climb out of the root', ['up/other'], ['real/other', 'up', 'up/other']],
    ['chains are followed to the end', ['chain/file'], ['chain', 'chain/file', 'link', 'real/file']],
    ['relative targets resolve from the link', ['dir/inner'], ['dir/inner', 'real/file']],
    ['a loop stops and keeps what it met', ['loop1'], ['loop1', 'loop2']],
    ['missing paths stay as patterns', ['nope/x'], ['nope/x']],
    ['a glob follows the links it selects', ['lin?'], ['lin?', 'link', 'real']],
    ['glob characters in a link target are taken literally', ['starlink'], ['odd/a\\*b', 'starlink']],
    ['a link to the root needs everything', ['toRoot/app.txt', 'junk'], ['app.txt', 'junk', 'toRoot', 'toRoot/app.txt']],
    ['a link to the root itself needs everything', ['toRoot'], undefined],
    ['an invalid pattern needs everything (the step reports it)', ['a[', 'app.txt'], undefined],
  ])('%s', (_name, followPaths, want) => {
    const got = includePatternsFor(tree(), followPaths)
    expect(got === undefined ? undefined : [...got].sort()).toEqual(want === undefined ? undefined : [...want].sort())
  })

  test('the scan takes the link, its target and nothing else', async () => {
    const root = tree()
    const snap = await scanContext(root, { includePatterns: includePatternsFor(root, ['link/file', 'starlink'])! })
    expect([...snap.records.keys()].sort()).toEqual(['', 'link', 'odd', 'odd/a*b', 'real', 'real/file', 'starlink'])
  })
})
