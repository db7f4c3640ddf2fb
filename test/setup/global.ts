// Global setup for the integration project: real services the tests share
// (the loopback registry and the bootstrapped busybox base image).
export default async function setup (): Promise<void> {}
