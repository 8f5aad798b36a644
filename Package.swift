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
    .library(name: "NNC", targets: ["NNC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
  ],
  targets: [
    // Types, ops, graph, builder, verifier, text printer and parser. Depends on nothing.
    .target(name: "NNCIR"),
    // Pass manager and the passes over the IR.
    .target(name: "NNCPasses", dependencies: ["NNCIR"]),
    // LLVM-C 14 (Debian's llvm-14-dev): include/ links to its headers; the module map links
    // libLLVM-14.
    .target(name: "CLLVM"),
    // Lowering to LLVM IR, object emission, headers, linking. The only target that uses LLVM.
    .target(name: "NNCCodegen", dependencies: ["NNCIR", "CLLVM"]),
    // Buffers and the reference interpreter.
    .target(
      name: "NNCRuntime",
      dependencies: ["NNCIR", .product(name: "RealModule", package: "swift-numerics")]),
    // The library users write: eager tensors, tracing.
    .target(name: "NNC", dependencies: ["NNCIR", "NNCPasses", "NNCRuntime"]),
    // The command-line driver.
    .executableTarget(
      name: "nnc",
      dependencies: [
        "NNCIR", "NNCPasses",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // Samples.
    .executableTarget(
      name: "StaticVsDynamic", dependencies: ["NNC", "NNCIR", "NNCPasses", "NNCRuntime"],
      path: "Samples/StaticVsDynamic"),
    .testTarget(
      name: "NNCTests",
      dependencies: ["NNC", "NNCIR", "NNCPasses", "NNCRuntime", "StaticVsDynamic"]),
    .testTarget(
      name: "NNCCodegenTests",
      dependencies: ["NNCCodegen", "NNCRuntime", "NNCPasses", "NNCIR"]),
    .testTarget(
      name: "NNCIRTests",
      dependencies: ["NNCIR", "NNCPasses", "nnc"],
      exclude: ["Golden"]),
  ]
)
