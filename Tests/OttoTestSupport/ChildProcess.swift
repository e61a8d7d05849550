import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where `swift build` put the executables: next to the test bundle, or `OTTO_BIN_DIR`.
public enum BuiltProducts {
    public static let directory: String = {
        if let override = ProcessInfo.processInfo.environment["OTTO_BIN_DIR"], !override.isEmpty { return override }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var candidate = executable.deletingLastPathComponent()
        // The test runner is `<products>/OttoPackageTests.xctest` (an executable on Linux).
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("otto").path) {
                return candidate.path
            }
            candidate = candidate.deletingLastPathComponent()
        }
        return executable.deletingLastPathComponent().path
    }()

    /// The path of a built executable; fails the test run loudly if it was not built.
    public static func executable(_ name: String) -> String {
        let path = directory + "/" + name
        precondition(
            FileManager.default.isExecutableFile(atPath: path),
            "\(path) is missing: build all products first (scripts/test.sh runs `swift build` before `swift test`)"
        )
        return path
    }
}

/// A real child process with its stdout and stderr captured, for tests of the built binaries.
public final class ChildProcess: Sendable {
    private let process: Process
    private final class Output: Sendable {
        let streams = Mutex<(stdout: String, stderr: String)>(("", ""))
        let readers = DispatchGroup()
    }

    private let output = Output()
    private let stdoutPipe: Pipe
    private let stderrPipe: Pipe

    public init(_ executable: String, arguments: [String] = [], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        self.process = process
        self.stdoutPipe = stdoutPipe
        self.stderrPipe = stderrPipe
        try process.run()
        // One reader per pipe, each reading until end of file, so no output is lost or reordered.
        let output = self.output
        for (handle, isStdout) in [(stdoutPipe.fileHandleForReading, true), (stderrPipe.fileHandleForReading, false)] {
            output.readers.enter()
            // A dedicated thread: a blocking read on a Dispatch worker would starve Swift concurrency's
            // cooperative pool (Dispatch-backed on Linux), which the in-process stand-in server runs on.
            let thread = Thread {
                while case let data = handle.availableData, !data.isEmpty {
                    let text = String(decoding: data, as: UTF8.self)
                    output.streams.withLock { if isStdout { $0.stdout += text } else { $0.stderr += text } }
                }
                output.readers.leave()
            }
            thread.start()
        }
    }

    public var stdout: String { output.streams.withLock { $0.stdout } }
    public var stderr: String { output.streams.withLock { $0.stderr } }
    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Waits until stderr or stdout contains `text`, or the process exits, or `timeout` passes.
    @discardableResult
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stderr.contains(text) || stdout.contains(text) { return true }
            if !process.isRunning {
                try? await Task.sleep(for: .milliseconds(50))  // let the pipes drain
                return stderr.contains(text) || stdout.contains(text)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status; kills it if it outlives `timeout`.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        process.waitUntilExit()
        drain()
        return process.terminationStatus
    }

    /// Waits (briefly) until both readers reached end of file. A UTF-8 character split across two reads would
    /// show as replacement characters; the outputs tested here are read in one piece or are ASCII at the seams.
    private func drain() {
        _ = output.readers.wait(timeout: .now() + 5)
    }

    /// Runs a command to completion and returns its status and output.
    public static func run(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String],
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments: arguments, environment: environment)
        let status = await child.waitForExit(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}
