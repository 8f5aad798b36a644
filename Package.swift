// swift-tools-version: 6.0
// nnc: a graph compiler for neural-network programs written in Swift.
import PackageDescription

let package = Package(
  name: "nnc",
  products: [
    .executable(name: "nnc", targets: ["nnc"]),
    .library(name: "NNCIR", targets: ["NNCIR"]),
    .library(name: "NNCPasses", targets: ["NNCPasses"]),
    .library(name: "NNCRuntime", targets: ["NNCRuntime"]),
    .library(name: "NNCCodegen", targets: ["NNCCodegen"]),
    .library(name: "NNCCache", targets: ["NNCCache"]),
    .library(name: "NNC", targets: ["NNC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
  ],
  targets: [
    // Types, ops, graph, builder, verifier, text printer and parser. Depends on nothing.
    .target(name: "NNCIR"),
    // Pass manager and the passes over the IR. Constant folding evaluates with the reference
    // interpreter's kernels (NNCRuntime), so a folded value is the value the graph would compute.
    .target(name: "NNCPasses", dependencies: ["NNCIR", "NNCRuntime"]),
    // LLVM-C 14 (Debian's llvm-14-dev): include/ links to its headers; the module map links
    // libLLVM-14.
    .target(name: "CLLVM"),
    // Lowering to LLVM IR, object emission, headers, linking. The only target that uses LLVM.
    // The workspace plan it follows (NNCPasses/Memory) is LLVM-free.
    .target(name: "NNCCodegen", dependencies: ["NNCIR", "NNCPasses", "CLLVM"]),
    // The on-disk compile cache of linked libraries: keys, verification, the private directory
    // (worked through one descriptor), size limit. SHA-256 from swift-crypto.
    .target(
      name: "NNCCache",
      dependencies: ["NNCIR", "NNCCodegen", .product(name: "Crypto", package: "swift-crypto")]),
    // Buffers and the reference interpreter.
    .target(
      name: "NNCRuntime",
      dependencies: ["NNCIR", .product(name: "RealModule", package: "swift-numerics")]),
    // The library users write: eager tensors, tracing.
    .target(name: "NNC", dependencies: ["NNCIR", "NNCPasses", "NNCRuntime", "NNCCodegen", "NNCCache"]),
    // The command-line driver.
    .executableTarget(
      name: "nnc",
      dependencies: [
        "NNCIR", "NNCPasses", "NNCRuntime", "NNCCodegen", "NNCCache",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // Benchmarks: compiled code against the interpreter, compile times (`swift run -c release nnc-bench`).
    .executableTarget(
      name: "nnc-bench", dependencies: ["NNC", "NNCIR", "NNCPasses", "NNCRuntime", "NNCCodegen", "NNCTestSupport"],
      path: "tools/bench", exclude: ["README.md"]),
    // Fuzz targets (tools/fuzz; docs/ARCHITECTURE.md, "Fuzzing and sanitizers"). A plain build
    // makes replay tools that run each input file once; tools/fuzz/run.sh builds them with
    // libFuzzer and AddressSanitizer in .build-fuzz.
    .target(name: "CLibFuzzer", path: "tools/fuzz/CLibFuzzer"),
    .target(name: "NNCFuzzSupport", dependencies: ["CLibFuzzer"], path: "tools/fuzz/Support"),
    .executableTarget(
      name: "nnc-fuzz-text", dependencies: ["NNCFuzzSupport", "NNCIR", "NNCPasses"], path: "tools/fuzz/text"),
    .executableTarget(
      name: "nnc-fuzz-npy", dependencies: ["NNCFuzzSupport", "NNCRuntime"], path: "tools/fuzz/npy"),
    .executableTarget(
      name: "nnc-fuzz-diff",
      dependencies: ["NNCFuzzSupport", "NNCIR", "NNCPasses", "NNCRuntime", "NNCCodegen", "NNCTestSupport"],
      path: "tools/fuzz/diff"),
    // Samples.
    .executableTarget(
      name: "StaticVsDynamic", dependencies: ["NNC", "NNCIR", "NNCPasses", "NNCRuntime"],
      path: "Samples/StaticVsDynamic"),
    // The README's library tour as a complete program.
    .executableTarget(
      name: "Tour", dependencies: ["NNC", "NNCPasses", "NNCRuntime"], path: "Samples/Tour"),
    .testTarget(
      name: "NNCTests",
      dependencies: [
        "NNC", "NNCIR", "NNCPasses", "NNCRuntime", "NNCCodegen", "NNCCache", "NNCTestSupport", "StaticVsDynamic",
        "Tour",
      ]),
    // Shared test helpers (random well-typed graphs, FileCheck-style matching).
    .target(name: "NNCTestSupport", dependencies: ["NNCIR", "NNCRuntime"], path: "Tests/Support"),
    .testTarget(
      name: "NNCCodegenTests",
      dependencies: ["NNC", "NNCCodegen", "NNCCache", "NNCRuntime", "NNCPasses", "NNCIR", "NNCTestSupport", "nnc"]),
    .testTarget(
      name: "NNCIRTests",
      dependencies: ["NNCIR", "NNCPasses", "NNCRuntime", "NNCTestSupport", "nnc"],
      exclude: ["Golden"]),
  ]
)
