import { expect, test } from 'vitest'
import { formatFinding, formatFindingsSummary, violatedRules } from './format.js'
import type { CheckFinding } from './types.js'

const at = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 3 } })
const cmd: CheckFinding = { rule: 'JSONArgsRecommended', message: 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals', file: 'Dockerfile', range: at(5) }
const maintainer: CheckFinding = { rule: 'MaintainerDeprecated', message: 'Maintainer instruction is deprecated in favor of using label', file: 'Dockerfile', range: at(2) }

test.each([
  [cmd, 'JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 5)'],
  [{ rule: maintainer.rule, message: maintainer.message, file: maintainer.file }, 'MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label'],
])('formatFinding %#', (finding, line) => {
  expect(formatFinding(finding)).toBe(line)
})

test('summary counts the findings and lists each', () => {
  expect(formatFindingsSummary([])).toBe('')
  expect(formatFindingsSummary([maintainer, cmd])).toBe(
    '2 warnings found (use --check for the source lines):\n' +
    ' - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)\n' +
    ' - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 5)\n')
})

test('violated rules are named once each', () => {
  expect(violatedRules([cmd, maintainer, { ...cmd, range: at(9) }])).toBe('JSONArgsRecommended, MaintainerDeprecated')
})
