import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Otto as a systemd user service: the unit, and the verbs the TypeScript Otto's operators use.
enum ServiceUnit {
    static let name = "otto.service"

    /// `$XDG_CONFIG_HOME/systemd/user/otto.service`, else `~/.config/systemd/user/otto.service`.
    static func path(_ environment: [String: String]) -> String {
        let base =
            OttoEnvironment.value("XDG_CONFIG_HOME", in: environment)
            ?? OttoLocations.homeDirectory(environment) + "/.config"
        return base + "/systemd/user/" + name
    }

    /// The unit for `otto` at `executable`. `Type=notify`: Otto says `READY=1` once its API listens and the catalog
    /// is loaded, pings the watchdog from its scheduler loop (every 30 s at most for `WatchdogSec=60`), and stops
    /// within 30 s (runs in flight are aborted and recorded), inside `TimeoutStopSec=45`.
    static func render(executable: String, environment: [String: String]) -> String {
        let home = OttoLocations.homeDirectory(environment)
        let config = ConfigFile(environment: environment)
        let ottoHome = OttoLocations.ottoHome(configured: config.values.ottoHome, environment: environment)
        let configPath = OttoLocations.configPath(environment)
        let configDirectory = String(configPath[..<(configPath.lastIndex(of: "/") ?? configPath.startIndex)])
        var passed: [String] = []
        for name in [OttoEnvironment.configPath, OttoEnvironment.home] {
            if let value = OttoEnvironment.value(name, in: environment) {
                passed.append("Environment=\(name)=\(value)")
            }
        }
        // "-": a path that does not exist yet is no reason to refuse to start.
        let writable = [ottoHome, configDirectory, home + "/.local/share/otto"].map { "-" + $0 }.joined(separator: " ")
        return """
            # Otto as a systemd user service, written by `ottoctl service install`.
            [Unit]
            Description=Otto, a self-hosted personal-assistant runtime
            Documentation=https://github.com/MarcoMuellner/otto
            After=network-online.target

            [Service]
            Type=notify
            NotifyAccess=main
            ExecStart=\(executable) serve
            ExecReload=/bin/kill -HUP $MAINPID
            \(passed.map { $0 + "\n" }.joined())Restart=on-failure
            RestartSec=5
            TimeoutStartSec=120
            TimeoutStopSec=45
            WatchdogSec=60
            NoNewPrivileges=yes
            PrivateTmp=yes
            ProtectSystem=strict
            ReadWritePaths=\(writable)
            UMask=0077

            [Install]
            WantedBy=default.target

            """
    }

    /// The `otto` binary to run: beside this ottoctl, else on `PATH`.
    static func ottoExecutable(_ environment: [String: String]) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            let me = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let beside = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/otto"
            if access(beside, X_OK) == 0 { return beside }
        }
        return Spawn.find("otto", path: environment["PATH"])
    }
}

/// `systemctl --user`, `journalctl --user` and `loginctl`, found on `PATH`.
struct UserSystemd {
    let environment: [String: String]

    func tool(_ name: String) throws -> String {
        guard let path = Spawn.find(name, path: environment["PATH"]) else {
            throw CLIError("\(name) is not on PATH: this machine has no systemd to run Otto as a service")
        }
        return path
    }

    @discardableResult
    func systemctl(_ arguments: [String], capture: Bool = true) throws -> (status: Int32, output: String) {
        Spawn.run([try tool("systemctl"), "--user"] + arguments, environment: environment, capture: capture)
    }

    /// Whether a user systemd answers, decided by what `systemctl --user` says (not by /run/systemd/system).
    func reachable() throws -> (Bool, String) {
        let answer = try systemctl(["is-system-running"])
        // A manager that answers says one of these (`degraded` with exit 1); without one it is `offline` or an
        // error about the bus.
        let text = String(answer.output.trimmingWhitespace)
        let state = String(text.split(separator: "\n").first ?? "")
        let answering = ["initializing", "starting", "running", "degraded", "maintenance", "stopping"]
        return (answering.contains(state), state == "offline" ? "systemctl --user is-system-running: offline" : text)
    }
}

extension OttoCtl {
    struct Service: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "service", abstract: "Install or remove Otto's systemd user service.",
            subcommands: [Install.self, Uninstall.self])
    }
}

extension OttoCtl.Service {
    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install",
            abstract: "Write ~/.config/systemd/user/otto.service, enable it, and turn on lingering.",
            discussion: """
                The unit runs the otto beside this ottoctl (or on PATH, or --otto). An existing different unit is \
                shown and replaced only with --force. Lingering keeps Otto running while you are logged out.
                """)

        @Flag(help: "Start the service now as well.") var now = false
        @Flag(help: "Replace an existing unit that differs.") var force = false
        @Option(help: ArgumentHelp("The otto binary the unit runs (an absolute path).", valueName: "path"))
        var otto: String?

        func run() async throws {
            let status = await CLIError.exitStatus(reportingTo: .standard) {
                try install(environment: ProcessInfo.processInfo.environment, output: .standard)
            }
            if status != 0 { throw ExitCode(status) }
        }

        func install(environment: [String: String], output: Output) throws {
            guard let executable = otto ?? ServiceUnit.ottoExecutable(environment), executable.hasPrefix("/") else {
                throw CLIError(
                    "cannot find the otto binary beside ottoctl or on PATH; name it with --otto /path/to/otto")
            }
            #if os(macOS)
                let path = ServiceUnit.launchdPath(environment)
                let unit = ServiceUnit.launchdPlist(executable: executable, environment: environment)
            #else
                let path = ServiceUnit.path(environment)
                let unit = ServiceUnit.render(executable: executable, environment: environment)
            #endif
            if let existing = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }),
                existing != unit
            {
                let old = existing.split(separator: "\n", omittingEmptySubsequences: false)
                let new = unit.split(separator: "\n", omittingEmptySubsequences: false)
                let removed = old.filter { !new.contains($0) }.map { "- " + $0 }
                let added = new.filter { !old.contains($0) }.map { "+ " + $0 }
                guard force else {
                    output.line("\(path) exists and differs:")
                    for line in removed + added { output.line(Output.escapingControls(String(line))) }
                    throw CLIError("not replaced; run again with --force to replace it")
                }
            }
            try TelegramSetupOptions.writeSecrets(unit, to: path, mode: 0o644)
            output.line("wrote \(path) (runs \(executable) serve)")
            #if os(macOS)
                output.line("load it with: launchctl bootstrap gui/$(id -u) \(path)")
                return
            #endif
            let systemd = UserSystemd(environment: environment)
            let (reachable, answer) = try systemd.reachable()
            guard reachable else {
                throw CLIError(
                    "systemd's user manager is not reachable here (\(answer)); the unit is written. Once it is, run: "
                        + "systemctl --user daemon-reload && systemctl --user enable --now otto")
            }
            try check(systemd.systemctl(["daemon-reload"]), "systemctl --user daemon-reload")
            try check(
                systemd.systemctl(["enable"] + (now ? ["--now"] : []) + [ServiceUnit.name]),
                "systemctl --user enable\(now ? " --now" : "") otto")
            output.line(now ? "enabled and started otto.service" : "enabled otto.service; start it with ottoctl start")
            lingering(environment: environment, output: output)
        }

        func check(_ result: (status: Int32, output: String), _ command: String) throws {
            guard result.status == 0 else {
                throw CLIError("\(command) failed (exit \(result.status)): \(result.output.trimmingWhitespace)")
            }
        }

        /// Lingering starts the user's manager at boot and keeps it after logout: without it, Otto stops when the
        /// operator's last session ends.
        func lingering(environment: [String: String], output: Output) {
            guard let loginctl = Spawn.find("loginctl", path: environment["PATH"]) else { return }
            let user = environment["USER"] ?? environment["LOGNAME"] ?? ""
            let shown = Spawn.run([loginctl, "show-user", user, "--property=Linger"], environment: environment)
            if shown.output.contains("Linger=yes") { return }
            if Spawn.run([loginctl, "enable-linger", user], environment: environment).status == 0 {
                output.line("turned on lingering for \(user): Otto keeps running after you log out")
            } else {
                output.warning(
                    "lingering is off: Otto stops when you log out. Turn it on with: sudo loginctl enable-linger \(user)"
                )
            }
        }
    }

    struct Uninstall: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "uninstall", abstract: "Stop and disable the service and remove its unit.")

        func run() async throws {
            let status = await CLIError.exitStatus(reportingTo: .standard) {
                let environment = ProcessInfo.processInfo.environment
                let path = ServiceUnit.path(environment)
                let systemd = UserSystemd(environment: environment)
                if (try? systemd.reachable().0) == true {
                    _ = try? systemd.systemctl(["disable", "--now", ServiceUnit.name])
                }
                if unlink(path) == 0 {
                    Output.standard.line("removed \(path)")
                } else if errno != ENOENT {
                    throw CLIError("cannot remove \(path): \(String(cString: strerror(errno)))")
                }
                if (try? systemd.reachable().0) == true { _ = try? systemd.systemctl(["daemon-reload"]) }
            }
            if status != 0 { throw ExitCode(status) }
        }
    }
}

extension OttoCtl {
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the otto service and wait (up to 60 s) until its API answers.")
        @OptionGroup var connection: ConnectionOptions
        func run() async throws { try await OttoCtl.lifecycle("start", connection: connection, wait: true) }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the otto service and wait until it is inactive.")
        @OptionGroup var connection: ConnectionOptions
        func run() async throws { try await OttoCtl.lifecycle("stop", connection: connection, wait: false) }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart the otto service and wait (up to 60 s) until its API answers.")
        @OptionGroup var connection: ConnectionOptions
        func run() async throws { try await OttoCtl.lifecycle("restart", connection: connection, wait: true) }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the running Otto read its config file again (SIGHUP).",
            discussion: "Through systemctl --user reload when the unit is installed, else a SIGHUP to the running Otto."
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let status = await CLIError.exitStatus(reportingTo: .standard) {
                if FileManager.default.fileExists(atPath: ServiceUnit.path(environment)) {
                    let result = try UserSystemd(environment: environment).systemctl(["reload", ServiceUnit.name])
                    guard result.status == 0 else {
                        throw CLIError("systemctl --user reload otto failed: \(result.output.trimmingWhitespace)")
                    }
                } else {
                    try await APIClient.with(connection, environment: environment, output: .standard) { client in
                        let pid = try await client.systemStatus().value.otto.pid
                        guard kill(pid, SIGHUP) == 0 else {
                            throw CLIError("cannot signal Otto (pid \(pid)): \(String(cString: strerror(errno)))")
                        }
                    }
                }
                Output.standard.line("asked Otto to read its config file again; its log says what changed")
            }
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the otto service's log (journalctl --user -u otto).")
        @Flag(name: .shortAndLong, help: "Follow the log.") var follow = false
        @Option(name: .short, help: "How many of the last lines.") var n = 100

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let journalctl = Spawn.find("journalctl", path: environment["PATH"]) else {
                throw CLIError("journalctl is not on PATH: this machine has no systemd journal")
            }
            let arguments =
                [journalctl, "--user", "-u", ServiceUnit.name, "-n", "\(max(0, n))"] + (follow ? ["-f"] : [])
            let result = Spawn.run(arguments, environment: environment, capture: false)
            if result.status != 0 { throw ExitCode(result.status) }
        }
    }

    static func lifecycle(_ verb: String, connection: ConnectionOptions, wait: Bool) async throws {
        let environment = ProcessInfo.processInfo.environment
        let output = Output.standard
        let status = await CLIError.exitStatus(reportingTo: output) {
            let systemd = UserSystemd(environment: environment)
            let (reachable, answer) = try systemd.reachable()
            guard reachable else {
                throw CLIError(
                    "systemd's user manager is not reachable here (\(answer)); run otto serve in a terminal instead")
            }
            let result = try systemd.systemctl([verb, ServiceUnit.name])
            guard result.status == 0 else {
                throw CLIError("systemctl --user \(verb) otto failed: \(result.output.trimmingWhitespace)")
            }
            guard wait else {
                // Until the unit is inactive (or failed), at most 60 s.
                let deadline = ContinuousClock.now + .seconds(60)
                var state = ""
                repeat {
                    state = String(try systemd.systemctl(["is-active", ServiceUnit.name]).output.trimmingWhitespace)
                    if state == "inactive" || state == "failed" { break }
                    try await Task.sleep(for: .milliseconds(250))
                } while ContinuousClock.now < deadline
                output.line("otto.service: \(state)")
                return
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let answered = try? await APIClient.with(connection, environment: environment, output: .silent) {
                    try await $0.systemStatus().value
                }
                if let answered {
                    output.line(
                        "otto \(answered.otto.version) is running (pid \(answered.otto.pid)): \(answered.status.rawValue)"
                    )
                    return
                }
                try await Task.sleep(for: .milliseconds(500))
            }
            let logs = Spawn.find("journalctl", path: environment["PATH"]).map {
                Spawn.run([$0, "--user", "-u", ServiceUnit.name, "-n", "20", "--no-pager"], environment: environment)
                    .output
            }
            throw CLIError(
                "Otto's API did not answer within 60 s of \(verb). Its last log lines:\n\(logs ?? "(no journalctl)")")
        }
        if status != 0 { throw ExitCode(status) }
    }
}
