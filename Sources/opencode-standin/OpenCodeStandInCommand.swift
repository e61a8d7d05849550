import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OpenCodeStandIn

@main
struct OpenCodeStandInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "opencode-standin",
        abstract:
            "A stand-in OpenCode server (1.x or 2.x) serving real models.dev catalog data (development and tests only).",
        discussion: """
            Speaks OpenCode 1.x (--protocol 1: GET /config/providers and GET /config from a fixture directory, byte \
            for byte, sessions and prompts at the root) or 2.x (--protocol 2: the 2.1 API under /api/, the same \
            fixture mapped to ModelInfo). It is not OpenCode: use it when no real `opencode serve` is at hand. \
            Prompt markers steer a turn: [[sleep:MS]], [[hang]], [[fail:STATUS:N]], [[size:BYTES]], [[permission]], \
            [[question]], [[substitute:PROVIDER/MODEL]], [[model-error]], [[model-error-once]], [[drop]]. Control it \
            while it runs:
              curl -X PUT --data fail:503 http://127.0.0.1:4096/__standin/mode
            (modes: normal, fail, fail:<status>, hang, garbage, wrong-shape), or replace the catalog with
              curl -X PUT --data-binary @providers.json http://127.0.0.1:4096/__standin/providers
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port, printed on stdout).")
    var port = 4096

    @Option(help: "Directory holding config-providers.json and config.json.")
    var fixture: String

    @Option(help: "Require HTTP Basic auth with this password, as OPENCODE_SERVER_PASSWORD does for opencode serve.")
    var password: String?

    @Option(help: "The user name that goes with --password.")
    var username = "opencode"

    @Option(name: .customLong("protocol"), help: "The OpenCode server protocol to speak: 1 or 2.")
    var protocolVersion = 1

    @Flag(help: "Serve no default model, as a stock OpenCode install without `model` in opencode.json.")
    var noDefaultModel = false

    func validate() throws {
        guard [1, 2].contains(protocolVersion) else { throw ValidationError("--protocol must be 1 or 2") }
    }

    func run() async throws {
        let standIn: StandInOpenCode
        do {
            standIn = try StandInOpenCode(
                fixtureDirectory: fixture, protocolVersion: protocolVersion, noDefaultModel: noDefaultModel)
        } catch {
            throw ValidationError("cannot read the fixture in \(fixture): \(error.localizedDescription)")
        }
        standIn.requirePassword(password, username: username)
        let app = standIn.application(host: host, port: port) { port in
            FileHandle.standardOutput.write(
                Data(
                    "opencode-standin (OpenCode \(standIn.version), protocol \(standIn.protocolVersion)) listening on http://\(host):\(port)\n"
                        .utf8))
        }
        try await app.runService()
    }
}
