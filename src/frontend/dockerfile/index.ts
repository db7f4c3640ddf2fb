export * from './parser/index.js'
export * from './instructions/index.js'
export * from './convert/index.js'
export * from './checks/index.js'
