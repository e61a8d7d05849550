import OttoContracts

extension ServiceUnit {
    /// macOS: `~/Library/LaunchAgents/<label>.plist`, a launchd agent that runs `otto serve` at login and again when
    /// it exits abnormally, logging to `<ottoHome>/logs/otto.log`.
    static let launchdLabel = "dev.otto.otto"

    static func launchdPath(_ environment: [String: String]) -> String {
        OttoLocations.homeDirectory(environment) + "/Library/LaunchAgents/\(launchdLabel).plist"
    }

    static func launchdPlist(executable: String, environment: [String: String]) -> String {
        let config = ConfigFile(environment: environment)
        let ottoHome = OttoLocations.ottoHome(configured: config.values.ottoHome, environment: environment)
        func escaped(_ text: String) -> String {
            var result = ""
            for character in text {
                switch character {
                case "&": result += "&amp;"
                case "<": result += "&lt;"
                case ">": result += "&gt;"
                default: result.append(character)
                }
            }
            return result
        }
        var variables = ""
        for name in [OttoEnvironment.configPath, OttoEnvironment.home] {
            if let value = OttoEnvironment.value(name, in: environment) {
                variables += "    <key>\(name)</key><string>\(escaped(value))</string>\n"
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
              <key>Label</key><string>\(launchdLabel)</string>
              <key>ProgramArguments</key>
              <array><string>\(escaped(executable))</string><string>serve</string></array>
              <key>RunAtLoad</key><true/>
              <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
              <key>ProcessType</key><string>Background</string>
              <key>ExitTimeOut</key><integer>45</integer>
              <key>Umask</key><integer>63</integer>
              <key>StandardOutPath</key><string>\(escaped(ottoHome))/logs/otto.log</string>
              <key>StandardErrorPath</key><string>\(escaped(ottoHome))/logs/otto.log</string>
              <key>EnvironmentVariables</key>
              <dict>
            \(variables)  </dict>
            </dict>
            </plist>

            """
    }
}
