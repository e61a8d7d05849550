#if canImport(Glibc)
    import Glibc
#endif

/// Runs other programs (`systemctl`, `journalctl`, `loginctl`) with `posix_spawn`, found on `PATH`: ottoctl does not
/// link Foundation's `Process` (its start-up time is benchmarked).
enum Spawn {
    /// The first executable called `name` on `PATH`.
    static func find(_ name: String, path: String?) -> String? {
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `arguments` (the first is the executable's path) and returns its exit status and, when `capture`, what
    /// it wrote to stdout and stderr together (at most 1 MiB); otherwise it writes to ottoctl's own.
    static func run(_ arguments: [String], environment: [String: String], capture: Bool = true) -> (
        status: Int32, output: String
    ) {
        var pipe: [Int32] = [-1, -1]
        if capture, Glibc.pipe(&pipe) != 0 { return (127, "cannot create a pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if capture {
            posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
            posix_spawn_file_actions_addclose(&actions, pipe[0])
            posix_spawn_file_actions_addclose(&actions, pipe[1])
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        if capture { close(pipe[1]) }
        guard spawned == 0 else {
            if capture { close(pipe[0]) }
            return (127, "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = []
        if capture {
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                let count = read(pipe[0], &buffer, buffer.count)
                if count <= 0 { break }
                if output.count < 1_048_576 { output += buffer.prefix(count) }
            }
            close(pipe[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import as macros.
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), String(decoding: output, as: UTF8.self))
    }
}
