// Which prebuilt binary fits this process: the platform id (`linux-x64-gnu`, `darwin-arm64`, ...) and the
// package that carries it (`@informer-node/<id>`). Used by the addon loader, the install script and the
// prebuild script (both import the compiled dist/platform.js).

/** The C library of a Linux process: 'gnu' (glibc) or 'musl'; '' elsewhere. */
export function libcFamily(): '' | 'gnu' | 'musl' {
  if (process.platform !== 'linux') return '';
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'gnu' : 'musl';
}

/** e.g. 'linux-x64-gnu', 'linux-arm64-gnu', 'darwin-arm64', 'win32-x64'. */
export function platformId(): string {
  const libc = libcFamily();
  return `${process.platform}-${process.arch}${libc ? `-${libc}` : ''}`;
}

/** The npm package holding the prebuilt addon for `id`. */
export function prebuiltPackage(id = platformId()): string {
  return `@informer-node/${id}`;
}
