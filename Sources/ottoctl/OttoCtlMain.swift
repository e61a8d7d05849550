import ArgumentParser
import OttoCtlKit

/// The entry point. The commands live in OttoCtlKit; this root only takes over their configuration, because
/// `@main` must sit on the root command in the executable.
@main
struct OttoCtlMain: AsyncParsableCommand {
    static let configuration = OttoCtl.configuration

    static func main() async { await OttoCtl.runAsProcess() }
}
