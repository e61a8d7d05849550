import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OpenCodeStandIn

@main
struct OpenCodeStandInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "opencode-standin",
        abstract: "A stand-in OpenCode 1.x server serving real models.dev catalog data (development and tests only).",
        discussion: """
            Serves GET /config/providers and GET /config from a fixture directory, byte for byte. It is not \
            OpenCode: use it when no real `opencode serve` is at hand. Control it while it runs:
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

    func run() async throws {
        let standIn: StandInOpenCode
        do {
            standIn = try StandInOpenCode(fixtureDirectory: fixture)
        } catch {
            throw ValidationError("cannot read the fixture in \(fixture): \(error.localizedDescription)")
        }
        standIn.requirePassword(password, username: username)
        let app = standIn.application(host: host, port: port) { port in
            FileHandle.standardOutput.write(Data("opencode-standin listening on http://\(host):\(port)\n".utf8))
        }
        try await app.runService()
    }
}
