/**
 * Collects the words of ProcessWords. Text is added either as splittable
 * (plain characters and unquoted expansion results, split at whitespace) or
 * literal (quoted or escaped text, never split). A word is only emitted if it
 * has characters, so `""` alone yields no word, as in BuildKit.
 */
export class WordSplitter {
  private readonly words: string[] = []
  private buf = ''

  addSplittable (text: string): void {
    let start = 0
    for (let i = 0; i < text.length; i++) {
      if (!isUnicodeSpace(text.charCodeAt(i))) continue
      if (start < i) this.buf += text.slice(start, i)
      start = i + 1
      if (this.buf !== '') {
        this.words.push(this.buf)
        this.buf = ''
      }
    }
    if (start < text.length) this.buf += text.slice(start)
  }

  addLiteral (text: string): void {
    this.buf += text
  }

  finish (): string[] {
    if (this.buf !== '') {
      this.words.push(this.buf)
      this.buf = ''
    }
    return this.words
  }
}

const FIELDS = /[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g

/** The words of text that is splittable throughout: its runs of non-space characters. */
export function splitFields (text: string): string[] {
  return text.match(FIELDS) ?? []
}

/** Go's unicode.IsSpace, which is what separates words in BuildKit. */
export function isUnicodeSpace (c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13)
  switch (c) {
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
      return true
  }
  return c >= 0x2000 && c <= 0x200a
}
