import { describe, expect, test } from 'vitest'
import { hasCode } from '../../../common/errors.js'
import { ExpansionError, ShellLex } from './index.js'

const lex = new ShellLex()
const backtick = new ShellLex({ escapeToken: '`' })

function expansionError (fn: () => unknown): ExpansionError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ExpansionError) return err
    throw err
  }
  throw new Error('expected an ExpansionError')
}

describe('modifiers', () => {
  const env = new Map([['FOO', 'xxx'], ['EMPTY', ''], ['PATH_', '/usr/local/bin:/usr/bin']])
  test.each([
    ['${FOO-d} ${EMPTY-d} ${NOPE-d}', 'xxx  d'],
    ['${FOO:-d} ${EMPTY:-d} ${NOPE:-d}', 'xxx d d'],
    ['${FOO+a} ${EMPTY+a} ${NOPE+a}', 'a a '],
    ['${FOO:+a} ${EMPTY:+a} ${NOPE:+a}', 'a  '],
    ['${FOO?m}${EMPTY?m}', 'xxx'],
    ['${FOO:?m}', 'xxx'],
    ['${PATH_#*:}', '/usr/bin'],
    ['${PATH_##*/}', 'bin'],
    ['${PATH_%:*}', '/usr/local/bin'],
    ['${PATH_%%/*}', ''],
    ['${PATH_/bin/sbin}', '/usr/local/sbin:/usr/bin'],
    ['${PATH_//bin/sbin}', '/usr/local/sbin:/usr/sbin'],
    ['${PATH_//[lb]/X}', '/usr/XocaX/Xin:/usr/Xin'],
    ['${PATH_//[!:]/.}', '..............:........'],
    ['${PATH_#\\/usr}', '/local/bin:/usr/bin'],
    ['${NOPE#x}${NOPE/x/y}', ''],
    ['${FOO:-${NOPE:-${EMPTY:+no}}}', 'xxx'],
    ['$FOO$EMPTY$NOPE.', 'xxx.'],
  ])('%s → %s', (word, expected) => {
    expect(lex.processWord(word, env)).toBe(expected)
  })
})

describe('errors', () => {
  test.each([
    ['${X?}', 'X', 'X: is not allowed to be unset'],
    ['${X:?}', 'X', 'X: is not allowed to be unset'],
    ['${E:?}', 'E', 'E: is not allowed to be empty'],
    ['${X?set X with --build-arg}', 'X', 'X: set X with --build-arg'],
    ['${E:?need $Y}', 'E', 'E: need y'],
    ['${X:=1}', 'X', 'unsupported modifier (:=) in substitution of X'],
    ['${X=1}', 'X', 'unsupported modifier (=) in substitution of X'],
    ['${X:#a}', 'X', 'unsupported modifier (:#) in substitution of X'],
    ['${X#\\q}', 'X', 'invalid pattern (\\q) in substitution of X: invalid escape "\\\\q"'],
    ['${X', 'X', "syntax error: missing '}'"],
    ['${X:-a', 'X', "syntax error: missing '}'"],
    ['${X/a', 'X', "syntax error: missing '/' in ${}"],
  ])('%s names %s', (word, variable, reason) => {
    const err = expansionError(() => lex.processWord(word, new Map([['E', ''], ['Y', 'y']])))
    expect(err.variable).toBe(variable)
    expect(err.reason).toBe(reason)
    expect(err.message).toBe(`failed to process ${JSON.stringify(word)}: ${reason}`)
    expect(hasCode(err, 'EXPANSION')).toBe(true)
  })

  test.each([
    ['${}', 'syntax error: bad substitution'],
    ['${:-x}', 'syntax error: bad substitution'],
    ['a"b', 'unexpected end of statement while looking for matching double-quote'],
    ["a'b", 'unexpected end of statement while looking for matching single-quote'],
  ])('%s without a variable', (word, reason) => {
    const err = expansionError(() => lex.processWord(word, []))
    expect(err.variable).toBeUndefined()
    expect(err.reason).toBe(reason)
  })

  test('keeps the lookups made before the failure', () => {
    const err = expansionError(() => lex.processWord('$A $B ${C:?}', ['A=1']))
    expect([...err.matched]).toEqual(['A'])
    expect([...err.unmatched].sort()).toEqual(['B', 'C'])
  })
})

describe('matched and unmatched', () => {
  test.each([
    ['plain', [], []],
    ['$A ${B} ${C:-$D} ${E+x}', ['A', 'D'], ['B', 'C', 'E']],
    ['${A#$B}${C/$D/$A}', ['A', 'D'], ['B', 'C']],
    ["'$A' \\$B \"$C\"", [], ['C']],
    ['$1 $@ ${#}', [], ['#', '1', '@']],
  ])('%s', (word, matched, unmatched) => {
    const res = lex.processWordWithMatches(word, ['A=a', 'D='])
    expect([...res.matched].sort()).toEqual(matched)
    expect([...res.unmatched].sort()).toEqual(unmatched)
  })

  test('a word without specials reports nothing and is returned as is', () => {
    const res = lex.processWordWithMatches('no-specials', [])
    expect(res).toEqual({ result: 'no-specials', matched: new Set(), unmatched: new Set() })
  })
})

describe('escape token `', () => {
  const env = ['X=x', 'WIN=C:\\dir', 'P=a/b']
  test.each([
    ['a`$X', 'a$X'],
    ['C:\\path\\$X', 'C:\\path\\x'],
    ['"`"q`""', '"q"'],
    ['"a`b"', 'a`b'],
    ['"a`$X"', 'a$X'],
    ['"a``b"', 'a`b'],
    ['a``b', 'a`b'],
    ['end`', 'end'],
    ["'`$X'", '`$X'],
    ['${WIN#C:}', '\\dir'],
    ['${NOPE:-`}}', '}'],
    ['${P/`//-}', 'a-b'],
    ['${X#`*}', 'x'],
  ])('%s → %s', (word, expected) => {
    expect(backtick.processWord(word, env)).toBe(expected)
  })

  test('a backslash pattern escape is an error only with the default token', () => {
    expect(backtick.processWord('${WIN%\\dir}', env)).toBe('C:')
    expect(() => lex.processWord('${WIN%\\dir}', env)).toThrow(/invalid escape/)
  })
})

describe('processWords', () => {
  test.each([
    ['80/tcp  443', [], ['80/tcp', '443']],
    ['$PORTS 9000', ['PORTS=80 81'], ['80', '81', '9000']],
    ['"$PORTS" x', ['PORTS=80 81'], ['80 81', 'x']],
    ['pre${V:-a b}post', [], ['prea', 'bpost']],
    ['pre"${V:-a b}"post', [], ['prea bpost']],
    ['"" x \'\'', [], ['x']],
    ['cat <<  EOF', [], ['cat', '<<  EOF']],
    ['a\\ b', [], ['a b']],
    ['a\u00a0b\u3000c', [], ['a', 'b', 'c']],
  ])('%s', (word, env, words) => {
    expect(lex.processWords(word, env)).toEqual(words)
  })
})

describe('raw options (as the parser uses them)', () => {
  test('rawQuotes keeps quotes, skipUnsetEnv keeps unset references', () => {
    const raw = new ShellLex({ rawQuotes: true, skipUnsetEnv: true })
    expect(raw.processWords(`<<"EOF" 'a b' $X \${Y:-d} \${Z/a/b} $S`, ['S=s'])).toEqual(['<<"EOF"', "'a b'", '$X', '${Y:-d}', '${Z/a/b}', 's'])
  })

  test('rawEscapes keeps escape tokens exactly once', () => {
    const raw = new ShellLex({ rawEscapes: true, rawQuotes: true })
    expect(raw.processWord('a\\ b "c\\"d\\e"', [])).toBe('a\\ b "c\\"d\\e"')
  })

  test('skipProcessQuotes treats quotes as plain characters', () => {
    const noQuotes = new ShellLex({ skipProcessQuotes: true })
    expect(noQuotes.processWord(`"$A" '$A'`, ['A=1'])).toBe(`"1" '1'`)
  })

  test('with() changes only the given options', () => {
    const changed = backtick.with({ skipUnsetEnv: true })
    expect(changed.escapeToken).toBe('`')
    expect(changed.processWord('$NOPE', [])).toBe('$NOPE')
  })
})

test('names may contain non-ASCII letters and digits', () => {
  expect(lex.processWord('$한국어_1.', ['한국어_1=ko'])).toBe('ko.')
  expect(lex.processWord('${KOREAN}🚀', ['KOREAN=한국어'])).toBe('한국어🚀')
})

test('expansion never reads process.env', () => {
  process.env.TSBUILD_SHELL_PROBE = 'leak'
  try {
    expect(lex.processWord('$TSBUILD_SHELL_PROBE', [])).toBe('')
  } finally {
    delete process.env.TSBUILD_SHELL_PROBE
  }
})

test('stays linear on long words', () => {
  const word = '$A-'.repeat(50_000)
  const started = performance.now()
  expect(lex.processWord(word, new Map([['A', 'a']])).length).toBe(100_000)
  expect(performance.now() - started).toBeLessThan(1_000)
})
