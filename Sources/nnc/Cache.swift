// `nnc cache stats` and `nnc cache clear`: the on-disk compile cache the library's `compile()`
// uses (NNCCache), in `$NNC_CACHE_DIR`, `$XDG_CACHE_HOME/nnc` or `~/.cache/nnc`.

import ArgumentParser
import Foundation
import NNCCache

struct CacheCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cache",
    abstract: "Show or clear the compile cache of the library's compile().",
    discussion: """
      The cache holds the shared libraries that `compile(trace)` builds, one entry (a library \
      and its manifest) per graph, CPU and code generator version. It lives in $NNC_CACHE_DIR, \
      else $XDG_CACHE_HOME/nnc, else ~/.cache/nnc, and must be a directory of this user that \
      nobody else can write to (it is refused otherwise). It keeps at most \
      $NNC_CACHE_MAX_BYTES bytes (a number, optionally with K, M or G; default 1G), evicting \
      the least recently used entries.
      """,
    subcommands: [CacheStats.self, CacheClear.self])
}

/// Opens the cache the library would use; prints the error and exits 1 when it is unusable.
private func openCache() -> CompileCache {
  do {
    return try CompileCache()
  } catch {
    failError("\(error)")
  }
}

struct CacheStats: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats",
    abstract: "Print the cache's directory, its entries, their total bytes and the size limit.")

  func run() {
    let cache = openCache()
    let usage = cache.usage()
    print("directory: \(cache.directory)")
    print("entries: \(usage.entries)")
    print("bytes: \(usage.bytes)")
    print("limit: \(cache.maxBytes)")
  }
}

struct CacheClear: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clear",
    abstract: "Remove every cache entry (and temporaries of finished processes); nothing else in the directory.")

  func run() {
    let cache = openCache()
    let removed = cache.clear()
    print("removed \(removed.entries) entries (\(removed.bytes) bytes) from \(cache.directory)")
  }
}
