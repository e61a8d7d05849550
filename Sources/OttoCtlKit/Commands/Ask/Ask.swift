import ArgumentParser
import OttoContracts

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension OttoCtl {
    struct Ask: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "ask",
            abstract: "Ask the assistant (the interactiveAssistant flow's model).",
            discussion: """
                The reply goes to stdout; the model that answered and the session go to stderr, so \
                `ottoctl ask "..." > reply.txt` keeps only the reply. Continue a conversation with --session.
                """
        )

        @Argument(help: ArgumentHelp("The message, or - to read it from standard input.", valueName: "message"))
        var message: String

        @Option(help: ArgumentHelp("Continue this OpenCode session.", valueName: "id"))
        var session: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if let session {
                try OttoCtl.checkLength(session, "--session", max: AssistantMessageRequest.maxSessionIdLength)
            }
            try OttoCtl.checkLength(message, "message", max: AssistantMessageRequest.maxMessageBytes)
        }

        func run(in context: CommandContext) async throws {
            let text = message == "-" ? try Self.readStandardInput() : message
            guard !text.allSatisfy(\.isWhitespace) else {
                throw CLIError("the message is empty", invalidInput: true)
            }
            let answer = try await context.client.ask(AssistantMessageRequest(message: text, sessionId: session))
            if output.json { return context.output.raw(answer.body) }
            let reply = answer.value
            context.output.line(reply.reply)
            let asked = reply.model.ref?.description ?? "chosen by OpenCode"
            let answered = reply.model.answeredBy.map { ", answered by \($0)" } ?? ""
            context.output.trace(
                "model \(asked) (\(reply.model.source.rawValue))\(answered), session \(reply.sessionId)")
        }

        /// Standard input, up to the API's limit on a message.
        static func readStandardInput() throws -> String {
            let limit = AssistantMessageRequest.maxMessageBytes
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while bytes.count <= limit {
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                bytes += chunk[..<count]
            }
            guard bytes.count <= limit else {
                throw CLIError("the message on standard input is longer than \(limit) bytes", invalidInput: true)
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw CLIError("standard input is not UTF-8 text", invalidInput: true)
            }
            return text
        }
    }
}
