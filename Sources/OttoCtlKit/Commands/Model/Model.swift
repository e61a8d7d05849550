import ArgumentParser

extension OttoCtl {
    struct Model: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "model",
            abstract: "The model catalog and the flow defaults.",
            subcommands: [List.self, Refresh.self, Defaults.self]
        )
    }
}

extension OttoCtl.Model {
    struct Defaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "defaults",
            abstract: "The model of each runtime flow.",
            subcommands: [Show.self, Set.self]
        )
    }
}
