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
            #if FUZZING
            // libFuzzer's -fork mode starts its workers with its own arguments only, without the
            // target name; they find the target in the environment the parent left them.
            if let name = getenv(LibFuzzerDriver.targetVariable), let target = FuzzTarget(rawValue: String(cString: name)) {
                exit(LibFuzzerDriver.run(target, arguments: CommandLine.unsafeArgv))
            }
            #endif
            let targets = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            fail("usage: vlsam-fuzz \(targets) [FILE-OR-FOLDER...]  |  vlsam-fuzz --write-artifact-seeds DIR")
        }
        #if FUZZING
        setenv(LibFuzzerDriver.targetVariable, name, 1)
        // libFuzzer reads argv[0], then its flags and corpus folders: the target name goes.
        CommandLine.unsafeArgv[1] = CommandLine.unsafeArgv[0]
        exit(LibFuzzerDriver.run(target, arguments: CommandLine.unsafeArgv + 1))
        #else
        exit(replay(target, Array(arguments.dropFirst())))
        #endif
    }
}

func fail(_ message: String) -> Never {
    fputs("vlsam-fuzz: \(message)\n", stderr)
    exit(2)
}
