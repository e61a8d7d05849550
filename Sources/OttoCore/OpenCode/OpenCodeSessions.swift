import Foundation
import NIOCore
import NIOHTTP1
import OttoContracts
import Synchronization

/// A session to create: its title, and the model and agent it starts with (2.x sets them on the session, 1.x on
/// each prompt), under Otto's safety rules.
public struct OpenCodeSessionRequest: Sendable {
    public var title: String
    public var model: ModelRef?
    public var agent: String?
    public var safety: OpenCodeSafety

    public init(title: String, model: ModelRef? = nil, agent: String? = nil, safety: OpenCodeSafety = .init()) {
        self.title = title
        self.model = model
        self.agent = agent
        self.safety = safety
    }
}

/// A file that goes with a prompt (a photo or a document from Telegram), inline as a `data:` URL.
public struct OpenCodeFile: Sendable, Equatable {
    public var name: String
    public var mimeType: String
    public var data: Data

    public init(name: String, mimeType: String, data: Data) {
        self.name = name
        self.mimeType = mimeType
        self.data = data
    }

    /// `data:<mime>;base64,<bytes>`: both protocols take files this way (1.x `FilePartInput.url`, 2.x
    /// `PromptInputFileAttachment.uri`: "images can be data: URLs", lib/_session.py).
    var dataURL: String { "data:\(mimeType);base64,\(data.base64EncodedString())" }
}

/// One prompt to run to completion.
public struct OpenCodePrompt: Sendable {
    public var text: String
    /// Files attached to the prompt.
    public var files: [OpenCodeFile] = []
    /// nil: OpenCode chooses (its configured default, or its own pick).
    public var model: ModelRef?
    public var agent: String?
    public var safety: OpenCodeSafety
    /// Otto's id for the user message, kept across transport retries so OpenCode can tell a retry from a second
    /// prompt (1.x `messageID`, 2.x `id`).
    public var messageId: String
    /// A previous attempt with this `messageId` may have reached OpenCode: look for it before sending again.
    public var mayHaveBeenDelivered: Bool
    /// The session was created for this prompt, with its model, agent and permissions.
    public var sessionIsNew: Bool

    public init(
        text: String, model: ModelRef? = nil, agent: String? = nil, safety: OpenCodeSafety = .init(),
        messageId: String = OpenCodeMessageID.ascending(), mayHaveBeenDelivered: Bool = false,
        sessionIsNew: Bool = false
    ) {
        self.text = text
        self.model = model
        self.agent = agent
        self.safety = safety
        self.messageId = messageId
        self.mayHaveBeenDelivered = mayHaveBeenDelivered
        self.sessionIsNew = sessionIsNew
    }
}

/// A request OpenCode raised during a prompt, which Otto refused because it runs unattended.
public struct OpenCodeRefusal: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case permission
        case question
    }

    public let kind: Kind
    /// The permission (and what it is for) or the question, escaped and at most 200 characters.
    public let what: String

    public init(kind: Kind, what: String) {
        self.kind = kind
        self.what = UpstreamText.scrubbed(what, limit: 200)
    }
}

/// What a prompt produced.
public struct OpenCodeAnswer: Sendable, Equatable {
    /// The answer's text parts, joined.
    public var text: String
    /// The model that answered, as OpenCode reports it.
    public var answeredBy: ModelRef?
    /// Requests that Otto refused while the prompt ran, oldest first.
    public var refused: [OpenCodeRefusal]

    public init(text: String, answeredBy: ModelRef?, refused: [OpenCodeRefusal] = []) {
        self.text = text
        self.answeredBy = answeredBy
        self.refused = refused
    }
}

/// What execution needs from OpenCode: sessions and prompts. `OpenCodeClient` speaks it over HTTP in either
/// protocol; tests run the same client against the stand-in OpenCode server.
public protocol OpenCodePrompting: Sendable {
    /// Creates a session and returns its id.
    func createSession(_ request: OpenCodeSessionRequest, timeout: Duration) async throws(OpenCodeError) -> String
    /// Whether OpenCode knows the session.
    func sessionExists(_ id: String, timeout: Duration) async throws(OpenCodeError) -> Bool
    /// Sends one prompt in the session and waits for its answer, refusing every permission request and question
    /// OpenCode raises meanwhile.
    func prompt(sessionId: String, _ prompt: OpenCodePrompt, timeout: Duration) async throws(OpenCodeError)
        -> OpenCodeAnswer
    /// Asks OpenCode to stop whatever the session is doing.
    func abort(sessionId: String, timeout: Duration) async throws(OpenCodeError)
}

/// Message ids in the shape OpenCode gives its own (`Identifier.ascending("message")` in 1.x's
/// `packages/opencode/src/id/id.ts`): `msg_`, 12 hex digits of time and a counter, 14 random base62 characters.
/// Ascending, so a message Otto names sorts after the ones before it, as OpenCode's own would.
public enum OpenCodeMessageID {
    private static let state = Mutex<(last: UInt64, counter: UInt64)>((0, 0))
    private static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    public static func ascending(now: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let value = state.withLock { state -> UInt64 in
            if milliseconds != state.last {
                state.last = milliseconds
                state.counter = 0
            }
            state.counter += 1
            return milliseconds &* 0x1000 &+ state.counter
        }
        // 6 bytes of the value, big-endian, as 1.x writes them.
        var hex = ""
        for shift in stride(from: 40, through: 0, by: -8) {
            hex += String(format: "%02x", (value >> UInt64(shift)) & 0xFF)
        }
        let random = String((0..<14).map { _ in base62.randomElement()! })
        return "msg_" + hex + random
    }
}

extension OpenCodeClient: OpenCodePrompting {
    /// An answer larger than this is refused.
    static let maxAnswerBytes = 8 * 1024 * 1024
    /// A listing of pending requests larger than this is refused (each is a few hundred bytes).
    static let maxListingBytes = 1024 * 1024
    /// How often a prompt's pending requests are looked at: a request is refused well within 2 s.
    static let refusalPollInterval = Duration.milliseconds(400)
    /// The message every refusal carries.
    static let refusalMessage =
        "Otto runs unattended: nobody can answer this request, so it was refused. Continue without it."

    public func createSession(_ request: OpenCodeSessionRequest, timeout: Duration) async throws(OpenCodeError)
        -> String
    {
        switch dialect.protocolVersion {
        case .v1: try await createSessionV1(request, timeout: timeout)
        case .v2: try await createSessionV2(request, timeout: timeout)
        }
    }

    public func sessionExists(_ id: String, timeout: Duration) async throws(OpenCodeError) -> Bool {
        let url =
            switch dialect.protocolVersion {
            case .v1: V1.sessionURL(baseURL, id)
            case .v2: V2.sessionURL(baseURL, id)
            }
        let response = try await exchange(.GET, url, body: nil, timeout: timeout, maxBody: Self.maxAnswerBytes)
        switch response.status {
        case 200: return true
        case 404: return false
        default: throw OpenCodeError.http(url: url, status: response.status, body: response.body)
        }
    }

    public func prompt(sessionId: String, _ prompt: OpenCodePrompt, timeout: Duration) async throws(OpenCodeError)
        -> OpenCodeAnswer
    {
        let deadline = ContinuousClock.now + timeout
        let refusals = RefusalLog()
        let version = dialect.protocolVersion
        let outcome: Result<OpenCodeAnswer, OpenCodeError> = await withTaskGroup(
            of: Result<OpenCodeAnswer, OpenCodeError>?.self
        ) { group in
            group.addTask {
                do throws(OpenCodeError) {
                    let answer =
                        switch version {
                        case .v1: try await self.promptV1(sessionId: sessionId, prompt, deadline: deadline)
                        case .v2: try await self.promptV2(sessionId: sessionId, prompt, deadline: deadline)
                        }
                    return .success(answer)
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                await self.refuseRequests(of: sessionId, version: version, into: refusals, until: deadline)
                return nil
            }
            defer { group.cancelAll() }
            while let result = await group.next() {
                if let result { return result }
            }
            return .failure(OpenCodeError(url: baseURL, cause: .timedOut(seconds: Int(timeout.components.seconds))))
        }
        var answer = try outcome.get()
        answer.refused = refusals.refused
        return answer
    }

    public func abort(sessionId: String, timeout: Duration) async throws(OpenCodeError) {
        let url =
            switch dialect.protocolVersion {
            case .v1: V1.sessionURL(baseURL, sessionId) + "/abort"
            case .v2: V2.sessionURL(baseURL, sessionId) + "/interrupt"
            }
        _ = try await expectSuccess(.POST, url, ByteBuffer(string: "{}"), timeout: timeout)
    }

    /// Until cancelled (the prompt ended) or `deadline`: every `refusalPollInterval`, lists the session's pending
    /// permission requests and questions and refuses each one once.
    func refuseRequests(
        of sessionId: String, version: OpenCodeProtocolVersion, into log: RefusalLog,
        until deadline: ContinuousClock.Instant
    ) async {
        while !Task.isCancelled, ContinuousClock.now < deadline {
            do {
                switch version {
                case .v1: try await refuseV1(sessionId: sessionId, log: log)
                case .v2: try await refuseV2(sessionId: sessionId, log: log)
                }
            } catch {
                // The prompt reports OpenCode's failures; a listing that failed is tried again at the next poll.
            }
            try? await Task.sleep(for: Self.refusalPollInterval)
        }
    }

    /// A listing of pending requests, bounded in size and time; nil when this OpenCode has no such route.
    func pendingListing(_ url: String) async throws(OpenCodeError) -> Data? {
        let response = try await exchange(.GET, url, body: nil, timeout: .seconds(5), maxBody: Self.maxListingBytes)
        if response.status == 404 || response.status == 405 { return nil }
        guard response.isSuccess else {
            throw OpenCodeError.http(url: url, status: response.status, body: response.body)
        }
        return response.data
    }

    func expectSuccess(_ method: HTTPMethod, _ url: String, _ body: ByteBuffer?, timeout: Duration)
        async throws(OpenCodeError) -> OpenCodeResponse
    {
        let response = try await exchange(method, url, body: body, timeout: timeout, maxBody: Self.maxAnswerBytes)
        guard response.isSuccess else {
            throw OpenCodeError.http(url: url, status: response.status, body: response.body)
        }
        return response
    }

    /// `value` as JSON; the bodies Otto sends are strings, numbers and plain structs, which always encode.
    static func encoded(_ value: some Encodable) -> ByteBuffer {
        ByteBuffer(bytes: (try? JSONEncoder().encode(value)) ?? Data("{}".utf8))
    }

    /// `id` percent-encoded for a path segment, so that it can never name another path.
    static func segment(_ id: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        return id.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A session id from OpenCode, checked like a client's: it goes into URLs, runs and logs, and is never echoed
    /// when it is not an id.
    static func checkedSessionId(_ id: String?, url: String) throws(OpenCodeError) -> String {
        guard let id, !id.isEmpty else {
            throw OpenCodeError(url: url, cause: .badPayload("expected a session object with an \"id\""))
        }
        guard AssistantMessageRequest.isValidSessionId(id) else {
            throw OpenCodeError(
                url: url,
                cause: .badPayload(
                    "the session id is not 1 to \(AssistantMessageRequest.maxSessionIdLength) letters, digits, "
                        + "\"_\" or \"-\""))
        }
        return id
    }
}

/// The requests refused during one prompt, each once.
final class RefusalLog: Sendable {
    /// At most this many refusals are kept for the run; more are refused but not listed.
    static let maxKept = 50
    private let state = Mutex<(seen: Set<String>, refused: [OpenCodeRefusal])>(([], []))

    /// True when `id` was not refused before: the caller refuses it and then calls `record`.
    func claim(_ id: String) -> Bool {
        state.withLock { state in
            guard state.seen.count < 10_000 else { return false }
            return state.seen.insert(id).inserted
        }
    }

    /// A refusal that failed is tried again at the next poll.
    func release(_ id: String) {
        _ = state.withLock { $0.seen.remove(id) }
    }

    func record(_ refusal: OpenCodeRefusal) {
        state.withLock { state in
            if state.refused.count < Self.maxKept { state.refused.append(refusal) }
        }
    }

    var refused: [OpenCodeRefusal] { state.withLock { $0.refused } }
}

/// Decodes whatever it is given, keeping the value only when it has the expected shape (list entries of other
/// shapes are skipped rather than failing the whole listing).
struct Lenient<T: Decodable>: Decodable {
    let value: T?
    init(from decoder: any Decoder) throws { value = try? T(from: decoder) }
}
