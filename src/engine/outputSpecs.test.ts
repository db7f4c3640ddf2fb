import { expect, test } from 'vitest'
import { outputSpecs } from './export.js'

const namesOf = (specs: ReturnType<typeof outputSpecs>): string[][] => specs.map((s) => ('names' in s ? s.names : []))

test('-t names replace name= on every image output, as buildx fills them', () => {
  expect(namesOf(outputSpecs(['type=image,name=reg/other:1,push=true', 'type=oci,dest=x.tar,name=y', 'type=docker,dest=d.tar'], ['reg/app:1', 'reg/app:latest'], false)))
    .toEqual([['reg/app:1', 'reg/app:latest'], ['reg/app:1', 'reg/app:latest'], ['reg/app:1', 'reg/app:latest']])
})

test('without -t, name= is the name; local and tar outputs have none', () => {
  expect(namesOf(outputSpecs(['type=registry,name=reg/app:2', 'type=local,dest=out'], [], false))).toEqual([['reg/app:2'], []])
})

test('push-by-digest with a tagged -t name is refused, as BuildKit refuses to push a tagged ref by digest', () => {
  expect(() => outputSpecs(['type=image,name=reg/app,push-by-digest=true,push=true'], ['reg/app:amd64'], false)).toThrow(/push-by-digest=true pushes no tag/)
})
