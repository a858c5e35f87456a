#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FuzzTargets

/// `vlsam-fuzz TARGET [ARGUMENTS...]`. Built normally it replays files (crash inputs, corpora)
/// through a target's reader and prints each outcome. Built with `-sanitize=fuzzer` and
/// `-DFUZZING` (`make fuzz`) it hands the arguments to libFuzzer instead, which then fuzzes
/// the target (corpus folders, `-max_total_time=…`) or, given files, runs just those.
/// `vlsam-fuzz --write-artifact-seeds DIR` writes the artifact target's generated seeds.
@main
struct FuzzCommand {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-artifact-seeds", arguments.count == 2 {
            do {
                for path in try writeArtifactSeeds(into: arguments[1]) { print(path) }
            } catch {
                fail("\(error)")
            }
            return
        }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            let targets = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            fail("usage: vlsam-fuzz \(targets) [FILE-OR-FOLDER...]  |  vlsam-fuzz --write-artifact-seeds DIR")
        }
        #if FUZZING
        exit(LibFuzzerDriver.run(target))
        #else
        exit(replay(target, Array(arguments.dropFirst())))
        #endif
    }
}

func fail(_ message: String) -> Never {
    fputs("vlsam-fuzz: \(message)\n", stderr)
    exit(2)
}
