// swift-tools-version:6.0
import PackageDescription

import Foundation

// Release builds use the build machine's vector extensions (AVX2/AVX-512 on x86): the
// elementwise kernels and the quantised matrix-vector products are Swift SIMD code, which the
// baseline x86-64 target limits to 4-wide SSE. VLSAM_TARGET_CPU picks another CPU for binaries
// that must run elsewhere (e.g. `haswell`, or `x86-64` for the baseline).
let targetCPU = ProcessInfo.processInfo.environment["VLSAM_TARGET_CPU"] ?? "native"
// Attention's register-blocked kernel keeps 24 sixteen-float accumulators in registers, which
// needs AVX-512's 32 vector registers; built for anything else, attention goes through OpenBLAS.
let avx512CPUs: Set = ["skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
                       "icelake-server", "tigerlake", "rocketlake", "sapphirerapids", "emeraldrapids",
                       "graniterapids", "znver4", "znver5", "x86-64-v4"]
let targetHasAVX512 = targetCPU == "native"
    ? ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx512f ") ?? false)
    : avx512CPUs.contains(targetCPU)
let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-target-cpu", targetCPU], .when(configuration: .release))]
    + (targetHasAVX512 ? [.define("VLSAM_AVX512", .when(configuration: .release))] : [])

let package = Package(
    name: "vlsam",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vlsam-encode", targets: ["vlsam-encode"]),
        .executable(name: "vlsam-decode", targets: ["vlsam-decode"]),
        .executable(name: "vlsam-list", targets: ["vlsam-list"]),
        .executable(name: "vlsam-attend", targets: ["vlsam-attend"]),
        .executable(name: "vlsam-points", targets: ["vlsam-points"]),
        .executable(name: "vlsam-run", targets: ["vlsam-run"]),
        .executable(name: "vlsam-random-weights", targets: ["vlsam-random-weights"]),
        .executable(name: "vlsam-eval", targets: ["vlsam-eval"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // Native libraries, found through pkg-config.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),

        // One library per concern.
        // The quantised matrix–vector kernels, in C for their lane-wise intrinsics; each picks its
        // instruction set at run time, so the C needs no -march.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        .target(name: "TensorMath", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimise),
        .target(name: "Checkpoints", dependencies: ["TensorMath"], swiftSettings: optimise),
        // The shared vocabulary: image size, pixel point and box, prompt set.
        .target(name: "Geometry", dependencies: ["TensorMath"], swiftSettings: optimise),
        // C wrappers that keep libjpeg/libpng setjmp/longjmp error handling out of Swift frames.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        .target(name: "Imaging", dependencies: ["CImageCodecs"], swiftSettings: optimise),
        // Artifacts read the process's one pixel limit from Imaging (`decodePixelLimit()`).
        .target(name: "Artifacts", dependencies: ["CHDF5", "Geometry", "TensorMath", "Imaging"], swiftSettings: optimise),
        .target(name: "SAMModels", dependencies: ["Geometry", "TensorMath", "Checkpoints", "Imaging"], swiftSettings: optimise),
        .target(name: "Tokenizers", swiftSettings: optimise),
        .target(name: "VLMModels", dependencies: ["Geometry", "TensorMath", "Checkpoints", "Imaging", "Tokenizers"],
                swiftSettings: optimise),
        // The VL-SAM method: attention → maps → point prompts (no model code).
        .target(name: "VLSAMMethod", dependencies: ["Geometry", "TensorMath"], swiftSettings: optimise),
        // Stage logic between files and models; the executables only parse arguments.
        .target(name: "Pipeline", dependencies: ["Geometry", "SAMModels", "VLMModels", "VLSAMMethod", "Tokenizers", "Artifacts", "Imaging", "Checkpoints"],
                swiftSettings: optimise),

        // COCO's formats: run-length encoded masks (pycocotools' compressed strings), results JSON.
        .target(name: "COCOFormat", swiftSettings: optimise),
        // COCO evaluation, the numbers pycocotools' COCOeval gives (Checkpoints for SHA-256, TensorMath for threads).
        .target(name: "COCOEvaluation", dependencies: ["COCOFormat", "Checkpoints", "TensorMath"], swiftSettings: optimise),
        // The batch driver: the whole method over many photos, resumable, with reports.
        .target(name: "BatchDriver", dependencies: [
            "Pipeline", "VLSAMMethod", "Artifacts", "Imaging", "Geometry", "COCOFormat", "COCOEvaluation", "Checkpoints",
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: optimise),

        // What every stage executable shares: common options, enums as arguments, error reporting.
        .target(name: "StageCommandLine", dependencies: [
            "Pipeline", "Artifacts", "VLSAMMethod", "Imaging", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // One thin executable per stage.
        .executableTarget(name: "vlsam-encode", dependencies: [
            "Pipeline", "StageCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-decode", dependencies: [
            "Pipeline", "StageCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-list", dependencies: [
            "Pipeline", "StageCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-attend", dependencies: [
            "Pipeline", "StageCommandLine", "VLSAMMethod", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-points", dependencies: [
            "Pipeline", "StageCommandLine", "VLSAMMethod", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-random-weights", dependencies: [
            "VLMModels", "Checkpoints", "Artifacts", "Pipeline", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-eval", dependencies: [
            "COCOEvaluation", "StageCommandLine", "TensorMath", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vlsam-run", dependencies: [
            "BatchDriver", "Pipeline", "StageCommandLine", "VLSAMMethod", "Imaging",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmarks live outside the test suite.
        .executableTarget(name: "vlsam-bench", dependencies: [
            "SAMModels", "VLMModels", "Pipeline", "BatchDriver", "Tokenizers", "Artifacts", "Imaging", "Checkpoints", "TensorMath",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimise),

        // Fuzzing: each reader of untrusted files as a target, and one program that replays inputs
        // through them or, built by `make fuzz` (-sanitize=fuzzer -DFUZZING), runs libFuzzer on them.
        .target(name: "FuzzTargets", dependencies: ["Imaging", "Checkpoints", "Artifacts", "Geometry"]),
        .executableTarget(name: "vlsam-fuzz", dependencies: ["FuzzTargets"]),

        .target(name: "TestSupport", dependencies: ["TensorMath", "Checkpoints"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorMathTests", dependencies: ["TensorMath", "Artifacts", "TestSupport"]),
        // Fixtures are read by path, not bundled.
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Artifacts", "TensorMath", "TestSupport"]),
        .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts", "Geometry", "Imaging", "TestSupport"]),
        .testTarget(name: "SAMModelsTests", dependencies: ["SAMModels", "Geometry", "Artifacts", "Checkpoints", "Imaging", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Artifacts", "TestSupport"]),
        .testTarget(name: "VLMModelsTests", dependencies: ["VLMModels", "Geometry", "Artifacts", "Checkpoints", "Imaging", "Tokenizers", "TestSupport"]),
        .testTarget(name: "VLSAMMethodTests", dependencies: ["VLSAMMethod", "Geometry", "VLMModels", "TensorMath", "Artifacts", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "COCOFormatTests", dependencies: ["COCOFormat", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "COCOEvaluationTests", dependencies: ["COCOEvaluation", "COCOFormat", "TensorMath", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "BatchDriverTests", dependencies: ["BatchDriver", "Artifacts", "Geometry", "Imaging", "COCOFormat", "COCOEvaluation",
                                                             "VLSAMMethod", "TestSupport"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["Artifacts", "Geometry", "Pipeline", "VLMModels", "Checkpoints", "Imaging", "TensorMath",
                                                      "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
