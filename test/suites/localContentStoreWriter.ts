// Child process for the cross-process content store test:
//   node writer.js ROOT DATA_FILE
// writes DATA_FILE into the LocalContentStore at ROOT in small chunks, yielding
// between chunks so a sibling process writing the same blob overlaps with it.
import { readFile } from 'node:fs/promises'
import { LocalContentStore } from '../../src/cache/content/index.js'
import { sha256 } from '../../src/common/digest.js'

async function * slowly (data: Buffer): AsyncIterable<Uint8Array> {
  for (let off = 0; off < data.length; off += 64 * 1024) {
    await new Promise((resolve) => setImmediate(resolve))
    yield data.subarray(off, off + 64 * 1024)
  }
}

const [root, dataFile] = process.argv.slice(2)
const data = await readFile(dataFile!)
const store = new LocalContentStore(root!)
const info = await store.write(slowly(data), { expected: { digest: sha256(data), size: data.length } })
process.stdout.write(JSON.stringify(info) + '\n')
