import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OttoContracts

/// Why a Bot API call failed, in words that never hold the token (every Bot API URL does).
public struct TelegramError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 401: the token is wrong or revoked.
        case unauthorized
        /// 409: another client polls this bot (or a webhook is set).
        case conflict
        /// 429: wait `retryAfter` seconds.
        case tooManyRequests(retryAfter: Int)
        /// 400 and other 4xx: Telegram refused this request; sending it again will not help.
        case refused(status: Int)
        /// 5xx, a lost connection, a timeout, a body that is not the Bot API's: worth trying again.
        case transient
        /// A file larger than Otto takes, or one that does not arrive within its time.
        case fileTooLarge
    }

    public let kind: Kind
    /// Telegram's own `description` (e.g. "Bad Request: can't parse entities: ..."), or what went wrong.
    public let message: String
    public var description: String { message }

    /// Whether Telegram could not parse the entities of a formatted message.
    var isParseError: Bool {
        if case .refused = kind { return message.lowercased().contains("can't parse entities") }
        return false
    }
}

/// The Telegram Bot API (https://core.telegram.org/bots/api): the only code that knows its URLs (which hold the
/// token) and its JSON. Every call is bounded from the first byte sent to the last received; every response has a
/// size limit; no error it throws contains the token.
public struct TelegramBotAPI: Sendable {
    let baseURL: String
    let token: TelegramBotToken
    let httpClient: HTTPClient
    /// The bound on a call that is not a long poll.
    var timeout: Duration = .seconds(15)

    /// Alive as long as the process: long polls must never wait for a connection that OpenCode's calls hold.
    static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 8
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(baseURL: String, token: TelegramBotToken, httpClient: HTTPClient? = nil) {
        self.baseURL = baseURL
        self.token = token
        self.httpClient = httpClient ?? Self.sharedHTTPClient
    }

    // MARK: Shapes (the Bot API reference, "Available types")

    /// `User`: `id`, `is_bot`, `first_name`, `username?`.
    public struct User: Decodable, Sendable {
        public let id: Int64
        public let isBot: Bool
        public let firstName: String?
        public let username: String?
        enum CodingKeys: String, CodingKey {
            case id
            case isBot = "is_bot"
            case firstName = "first_name"
            case username
        }
    }

    /// `Chat`: `id`, `type` (`private`, `group`, `supergroup`, `channel`).
    struct Chat: Decodable, Sendable {
        let id: Int64
        let type: String
    }

    /// `PhotoSize`: one size of a photo; a message carries several, smallest first.
    struct PhotoSize: Decodable, Sendable {
        let fileId: String
        let width: Int?
        let height: Int?
        let fileSize: Int64?
        enum CodingKeys: String, CodingKey {
            case fileId = "file_id"
            case width, height
            case fileSize = "file_size"
        }
    }

    /// `Document`: a general file.
    struct Document: Decodable, Sendable {
        let fileId: String
        let fileName: String?
        let mimeType: String?
        let fileSize: Int64?
        enum CodingKeys: String, CodingKey {
            case fileId = "file_id"
            case fileName = "file_name"
            case mimeType = "mime_type"
            case fileSize = "file_size"
        }
    }

    /// A field whose presence is all Otto needs to know (a voice note, a sticker, ...).
    struct Present: Decodable, Sendable {
        init(from decoder: any Decoder) throws {}
    }

    /// `Message`, with the fields Otto reads.
    struct Message: Decodable, Sendable {
        let messageId: Int64
        let from: User?
        let chat: Chat
        let text: String?
        let caption: String?
        let photo: [PhotoSize]?
        let document: Document?
        let voice: Present?
        let audio: Present?
        let video: Present?
        let videoNote: Present?
        let sticker: Present?
        let animation: Present?
        enum CodingKeys: String, CodingKey {
            case messageId = "message_id"
            case from, chat, text, caption, photo, document, voice, audio, video
            case
                videoNote = "video_note"
            case sticker, animation
        }
    }

    /// `Update`: exactly one of the optional fields is set; Otto asks only for messages (`allowed_updates`), but
    /// is ready for the others.
    struct Update: Decodable, Sendable {
        let updateId: Int64
        let message: Message?
        let editedMessage: Message?
        let channelPost: Message?
        let editedChannelPost: Message?
        enum CodingKeys: String, CodingKey {
            case updateId = "update_id"
            case message
            case editedMessage = "edited_message"
            case channelPost = "channel_post"
            case
                editedChannelPost = "edited_channel_post"
        }
    }

    /// `File`: `file_path` is where it can be downloaded, for at least an hour.
    struct File: Decodable, Sendable {
        let fileId: String
        let fileSize: Int64?
        let filePath: String?
        enum CodingKeys: String, CodingKey {
            case fileId = "file_id"
            case fileSize = "file_size"
            case filePath = "file_path"
        }
    }

    /// Every answer: `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
    /// "parameters": {"retry_after"}}` ("Making requests").
    struct Envelope<Result: Decodable>: Decodable {
        struct Parameters: Decodable {
            let retryAfter: Int?
            enum CodingKeys: String, CodingKey { case retryAfter = "retry_after" }
        }
        let ok: Bool
        let result: Result?
        let errorCode: Int?
        let description: String?
        let parameters: Parameters?
        enum CodingKeys: String, CodingKey {
            case ok, result
            case errorCode = "error_code"
            case description, parameters
        }
    }

    // MARK: Methods

    public func getMe() async throws(TelegramError) -> User {
        try await call("getMe", [:], as: User.self)
    }

    func deleteWebhook() async throws(TelegramError) {
        _ = try await call("deleteWebhook", ["drop_pending_updates": false], as: Bool.self)
    }

    func setMyCommands(_ commands: [(String, String)]) async throws(TelegramError) {
        let list: [[String: String]] = commands.map { ["command": $0.0, "description": $0.1] }
        _ = try await call("setMyCommands", ["commands": list], as: Bool.self)
    }

    /// A long poll: returns when updates arrive or after `timeoutSeconds`.
    func getUpdates(offset: Int64, timeoutSeconds: Int, limit: Int = 100) async throws(TelegramError) -> [Update] {
        try await call(
            "getUpdates",
            [
                "offset": offset, "timeout": timeoutSeconds, "limit": limit,
                "allowed_updates": ["message", "edited_message", "channel_post", "edited_channel_post"],
            ], as: [Update].self, timeout: .seconds(timeoutSeconds + 15), maxBody: 16 * 1024 * 1024)
    }

    /// Returns the sent message's id.
    func sendMessage(chatId: Int64, text: String, parseMode: String?) async throws(TelegramError) -> Int64 {
        var parameters: [String: any Sendable] = [
            "chat_id": chatId, "text": text, "link_preview_options": ["is_disabled": true],
        ]
        if let parseMode { parameters["parse_mode"] = parseMode }
        return try await call("sendMessage", parameters, as: Message.self).messageId
    }

    func sendChatAction(chatId: Int64, action: String = "typing") async throws(TelegramError) {
        _ = try await call("sendChatAction", ["chat_id": chatId, "action": action], as: Bool.self)
    }

    func getFile(_ fileId: String) async throws(TelegramError) -> File {
        try await call("getFile", ["file_id": fileId], as: File.self)
    }

    /// Downloads a file that `getFile` described, refusing it as soon as more than `maxBytes` arrive and when it
    /// has not arrived whole within `within`.
    func download(_ filePath: String, maxBytes: Int, within: Duration) async throws(TelegramError) -> Data {
        // `file_path` comes from Telegram; only the characters its paths use reach the URL.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./")
        guard !filePath.isEmpty, filePath.count <= 512, filePath.allSatisfy(allowed.contains), !filePath.contains("..")
        else {
            throw TelegramError(kind: .refused(status: 0), message: "Telegram gave a file path Otto does not follow")
        }
        let url = "\(baseURL)/file/bot\(token.value)/\(filePath)"
        let httpClient = self.httpClient
        do {
            let data = try await withDeadline(within) { () async throws -> Data in
                let response = try await httpClient.execute(
                    HTTPClientRequest(url: url), timeout: .nanoseconds(OpenCodeClient.nanoseconds(within)))
                guard response.status == .ok else {
                    throw TelegramError(
                        kind: response.status.code >= 500 ? .transient : .refused(status: Int(response.status.code)),
                        message: "the file download answered HTTP \(response.status.code)")
                }
                if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBytes {
                    throw TelegramError(kind: .fileTooLarge, message: "the file is larger than \(maxBytes) bytes")
                }
                var collected = Data()
                for try await chunk in response.body {
                    guard collected.count + chunk.readableBytes <= maxBytes else {
                        throw TelegramError(kind: .fileTooLarge, message: "the file is larger than \(maxBytes) bytes")
                    }
                    collected.append(contentsOf: chunk.readableBytesView)
                }
                return collected
            }
            guard let data else {
                throw TelegramError(
                    kind: .fileTooLarge, message: "the file did not arrive within \(within.components.seconds) s")
            }
            return data
        } catch let error as TelegramError {
            throw error
        } catch {
            throw transportError(error, seconds: Int(within.components.seconds))
        }
    }

    // MARK: The exchange

    /// One call: a JSON body to `<base>/bot<token>/<method>`, the envelope decoded.
    func call<Result: Decodable>(
        _ method: String, _ parameters: [String: any Sendable], as: Result.Type, timeout: Duration? = nil,
        maxBody: Int = 1024 * 1024
    ) async throws(TelegramError) -> Result {
        let limit = timeout ?? self.timeout
        let url = "\(baseURL)/bot\(token.value)/\(method)"
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: parameters)
        } catch {
            throw TelegramError(kind: .refused(status: 0), message: "\(method): the request could not be encoded")
        }
        let httpClient = self.httpClient
        let exchanged: (status: Int, body: ByteBuffer)?
        do {
            exchanged = try await withDeadline(limit) { () async throws -> (status: Int, body: ByteBuffer) in
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "User-Agent", value: "otto")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await httpClient.execute(
                    request, timeout: .nanoseconds(OpenCodeClient.nanoseconds(limit)))
                return (Int(response.status.code), try await response.body.collect(upTo: maxBody))
            }
        } catch {
            throw transportError(error, seconds: Int(limit.components.seconds), method: method)
        }
        guard let exchanged else {
            throw TelegramError(
                kind: .transient, message: "\(method): no answer from Telegram within \(limit.components.seconds) s")
        }
        let envelope: Envelope<Result>
        do {
            envelope = try JSONDecoder().decode(Envelope<Result>.self, from: Data(exchanged.body.readableBytesView))
        } catch {
            throw TelegramError(
                kind: exchanged.status >= 400 && exchanged.status < 500 && exchanged.status != 429
                    ? .refused(status: exchanged.status) : .transient,
                message: "\(method): Telegram answered HTTP \(exchanged.status) with a body that is not the Bot API's")
        }
        if envelope.ok, let result = envelope.result { return result }
        let code = envelope.errorCode ?? exchanged.status
        let description = token.redacting(UpstreamText.scrubbed(envelope.description ?? "HTTP \(code)", limit: 300))
        let kind: TelegramError.Kind =
            switch code {
            case 401: .unauthorized
            case 409: .conflict
            case 429: .tooManyRequests(retryAfter: min(max(envelope.parameters?.retryAfter ?? 5, 1), 3_600))
            case 400..<500: .refused(status: code)
            default: .transient
            }
        throw TelegramError(kind: kind, message: "\(method): \(description)")
    }

    private func transportError(_ error: any Error, seconds: Int, method: String = "download") -> TelegramError {
        let reason = OpenCodeClient.transportFailure(
            error, timedOut: "no answer within \(seconds) s", timeoutSeconds: seconds)
        return TelegramError(
            kind: .transient,
            message: "\(method): cannot reach Telegram at \(baseURL): "
                + token.redacting(UpstreamText.scrubbed(reason, limit: 300)))
    }
}
