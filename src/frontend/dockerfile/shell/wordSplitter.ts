import { fields, isGoSpace } from '../goSpace.js'

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

/** The words of text that is splittable throughout: its runs of non-space characters. */
export const splitFields = fields

/** Go's unicode.IsSpace, which is what separates words in BuildKit. */
export const isUnicodeSpace = isGoSpace
