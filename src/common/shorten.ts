/** How much of a long command or step name messages quote. */
export const QUOTED_CHARS = 200

/**
 * `text` itself when short, else its start and its full size: a RUN line can
 * be hundreds of kilobytes (up to the kernel's argument limit), and an error
 * that quotes it whole several times fills a terminal with it.
 */
export function shortenForDisplay (text: string, max: number = QUOTED_CHARS): string {
  if (text.length <= max) return text
  return `${text.slice(0, max)}… (${Buffer.byteLength(text)} bytes)`
}
