#if FUZZING
import FuzzTargets

/// The bridge to libFuzzer. Linking with `-sanitize=fuzzer` brings libFuzzer's own `main`, which
/// calls `LLVMFuzzerTestOneInput`; SwiftPM points the executable's `main` at this module's entry
/// point instead (`--defsym main=vlsam_fuzz_main`), so `FuzzCommand` picks the target from the
/// first argument and starts libFuzzer through `LLVMFuzzerRunDriver` with the rest.
enum LibFuzzerDriver {
    nonisolated(unsafe) static var target = FuzzTarget.jpeg
    static let scratch = ScratchFile()

    static func run(_ target: FuzzTarget) -> Int32 {
        self.target = target
        // libFuzzer reads argv[0] and then its flags and corpus folders: drop the target name.
        var argc = CommandLine.argc - 1
        var argv = CommandLine.unsafeArgv + 1
        argv[0] = CommandLine.unsafeArgv[0]
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
