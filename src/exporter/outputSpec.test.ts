import { describe, expect, test } from 'vitest'
import { hasCode } from '../common/errors.js'
import { parseOutputSpec, withOutputDest } from './outputSpec.js'

describe('parseOutputSpec', () => {
  test.each([
    ['out', { type: 'local', dest: 'out' }],
    ['-', { type: 'tar', dest: '-' }],
    ['type=local,dest=dir', { type: 'local', dest: 'dir' }],
    ['type=tar,dest=-', { type: 'tar', dest: '-' }],
    ['type=oci,dest=out.tar', { type: 'oci', dest: 'out.tar', tar: true, compression: 'gzip', forceCompression: false, ociMediaTypes: true, names: [] }],
    ['type=oci,dest=d,tar=false,compression=zstd,compression-level=19,force-compression=true',
      { type: 'oci', dest: 'd', tar: false, compression: 'zstd', compressionLevel: 19, forceCompression: true, ociMediaTypes: true, names: [] }],
    ['type=docker,dest=x.tar,name=app:1', { type: 'docker', dest: 'x.tar', compression: 'gzip', forceCompression: false, ociMediaTypes: false, names: ['app:1'] }],
    ['type=oci,dest=o.tar,rewrite-timestamp=true', { type: 'oci', dest: 'o.tar', tar: true, compression: 'gzip', forceCompression: false, ociMediaTypes: true, names: [] }],
    ['type=docker,dest=x.tar,compression=zstd', { type: 'docker', compression: 'zstd', ociMediaTypes: true }],
    ['type=image,"name=a,b",push=true', { type: 'image', push: true, names: ['a', 'b'] }],
    ['type=registry,name=r/x,oci-mediatypes=true', { type: 'registry', names: ['r/x'], ociMediaTypes: true }],
    // Every way of naming or pushing an image uses one media type family (OCI), as --push and -t do.
    ['type=registry,name=r/x', { type: 'registry', ociMediaTypes: true }],
    ['type=image,name=r/x,push=true', { type: 'image', push: true, ociMediaTypes: true }],
    ['type=image,name=r/x,oci-mediatypes=false', { type: 'image', ociMediaTypes: false }],
    // The multi-runner CI pattern: each runner pushes its platform untagged, a later job makes the index.
    ['type=image,name=r/x,push-by-digest=true,name-canonical=true,push=true', { type: 'image', push: true, pushByDigest: true, nameCanonical: true }],
    ['type=registry,name=r/x', { type: 'registry', pushByDigest: false, nameCanonical: false }],
    // As buildx: an archive without dest= goes to stdout (a terminal is refused later, as for dest=-).
    ['type=tar', { type: 'tar', dest: '-' }],
    ['type=oci', { type: 'oci', dest: '-', tar: true }],
    ['type=oci,dest=', { type: 'oci', dest: '-', tar: true }],
  ])('%s', (spec, want) => {
    expect(parseOutputSpec(spec)).toMatchObject(want)
  })

  test.each([
    ['', /empty output/],
    ['dest=x', /missing type=/],
    ['type=foo,dest=x', /unknown type "foo"/],
    ['type=oci,tar=false', /type=oci needs dest=/],
    ['type=local', /type=local needs dest=/],
    ['type=docker', /type=docker without dest= loads the image into a docker daemon, and tsbuild has none: use --load -t NAME \(tsbuild's image store\) or dest=FILE \(an archive for docker load\)/],
    ['type=oci,dest=x,compresion=zstd', /unknown key "compresion" for type=oci/],
    ['type=oci,dest=x,compression=lz4', /compression=lz4 is not one of/],
    ['type=oci,dest=x,compression-level=12', /compression-level=12 is not an integer in 0..9/],
    ['type=oci,dest=x,tar=maybe', /tar=maybe is not a boolean/],
    ['type=oci,dest=x,rewrite-timestamp=yes please', /rewrite-timestamp=yes please is not a boolean/],
    ['type=docker,dest=x,compression=zstd,oci-mediatypes=false', /needs oci-mediatypes=true/],
    ['type=local,dest=x,compression=gzip', /unknown key "compression" for type=local/],
    ['type=oci,dest=x,push-by-digest=true', /unknown key "push-by-digest" for type=oci/],
    ['type=image,name=r/x,push-by-digest=maybe', /push-by-digest=maybe is not a boolean/],
    ['type=oci,type=docker,dest=x', /given twice/],
    ['type=oci,tar=false,dest=-', /tar=false writes a directory, and stdout \(dest=-\) is not one/],
    ['type=local,dest=-', /type=local writes a directory, and stdout \(dest=-\) is not one; use type=tar/],
  ])('rejects %s', (spec, why) => {
    let err: unknown
    try { parseOutputSpec(spec) } catch (e) { err = e }
    expect(hasCode(err, 'USAGE')).toBe(true)
    expect((err as Error).message).toMatch(why)
  })
})

describe('withOutputDest', () => {
  test.each([
    ['-', 'type=tar,dest=/t/o.tar'],
    ['out', 'type=local,dest=/t/o.tar'],
    ['type=oci,dest=-,compression=zstd', 'type=oci,dest=/t/o.tar,compression=zstd'],
    ['type=tar', 'type=tar,dest=/t/o.tar'],
    ['type=oci,compression=zstd', 'type=oci,compression=zstd,dest=/t/o.tar'],
    ['type=docker,"name=a,b",dest=-', 'type=docker,"name=a,b",dest=/t/o.tar'],
  ])('%s', (spec, want) => {
    expect(withOutputDest(spec, '/t/o.tar')).toBe(want)
    expect(parseOutputSpec(withOutputDest(spec, '/t/o.tar'))).toMatchObject({ ...parseOutputSpec(spec), dest: '/t/o.tar' })
  })
})
