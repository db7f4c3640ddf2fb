/**
 * The last lines of a process's output (both streams, in arrival order), for
 * the error of a failed RUN. Kept as bytes and decoded once, so a character
 * split between two chunks stays whole; each line is what a terminal would
 * have left of it: the text after its last carriage return (a progress bar's
 * final state), without colour and cursor escape codes.
 */
export class OutputTail {
  private bytes: Buffer = Buffer.alloc(0)

  constructor (private readonly maxLines: number, private readonly maxBytes: number) {}

  push (chunk: Buffer): void {
    this.bytes = Buffer.concat([this.bytes, chunk.subarray(-this.maxBytes)])
    if (this.bytes.length > this.maxBytes) this.bytes = this.bytes.subarray(-this.maxBytes)
  }

  lines (): string[] {
    const all = this.bytes.toString('utf8').split('\n')
    if (all.at(-1) === '') all.pop()
    return all.slice(-this.maxLines).map(cleanLine)
  }
}

function cleanLine (line: string): string {
  const text = line.replace(/\r+$/, '')
  // eslint-disable-next-line no-control-regex
  return text.slice(text.lastIndexOf('\r') + 1).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
}
