#if FUZZING
import FuzzTargets

/// The bridge to libFuzzer. Linking with `-sanitize=fuzzer` brings libFuzzer's own `main`, which
/// calls `LLVMFuzzerTestOneInput`; SwiftPM points the executable's `main` at this module's entry
/// point instead (`--defsym main=vlsam_fuzz_main`), so `FuzzCommand` picks the target from the
/// first argument (or `VLSAM_FUZZ_TARGET`, for -fork's workers) and starts libFuzzer through
/// `LLVMFuzzerRunDriver` with the rest.
enum LibFuzzerDriver {
    nonisolated(unsafe) static var target = FuzzTarget.jpeg
    static let scratch = ScratchFile()

    static let targetVariable = "VLSAM_FUZZ_TARGET"

    /// Runs libFuzzer on `target`; `arguments` is a NULL-terminated argv for libFuzzer.
    static func run(_ target: FuzzTarget, arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
        self.target = target
        var argv = arguments
        var argc = Int32(0)
        while argv[Int(argc)] != nil { argc += 1 }
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in LLVMFuzzerTestOneInput(data, size) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    LibFuzzerDriver.target.fuzz(UnsafeRawBufferPointer(start: data, count: size), scratch: LibFuzzerDriver.scratch)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif
