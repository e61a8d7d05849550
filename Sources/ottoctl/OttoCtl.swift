import ArgumentParser

/// The operator CLI. Its commands (model list/refresh/defaults, task set-model) talk to the external API and
/// arrive with the CLI issue; until then it only explains itself.
@main
struct OttoCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ottoctl",
        abstract: "Operate a running Otto through its external API.",
        discussion: """
            Planned commands (not available in this build yet):
              ottoctl model list [--provider P] [--json]
              ottoctl model refresh [--json]
              ottoctl model defaults show [--json]
              ottoctl model defaults set <flow> <provider/model|inherit>
              ottoctl task set-model <task-id> <provider/model|inherit>
            """
    )

    func run() throws {
        print(Self.helpMessage())
    }
}
