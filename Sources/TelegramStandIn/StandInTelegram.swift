import Foundation
import Hummingbird
import Logging
import Synchronization

/// A stand-in Telegram Bot API server (development and tests only), written from the Bot API reference
/// (https://core.telegram.org/bots/api, Bot API 9.x): "Making requests" for the envelope (`{"ok": true, "result"}`,
/// `{"ok": false, "error_code", "description", "parameters": {"retry_after"}}`) and the URL form
/// (`/bot<token>/<method>`, parameters as a query string, `application/x-www-form-urlencoded` or
/// `application/json`), "Getting updates" for `getUpdates` and offsets, and each method's section for its
/// parameters, limits and result. It is not Telegram: multipart uploads, inline keyboards, webhooks and the other
/// methods are not there.
///
/// A control API (`/control/...`, no token) injects what a user sends (text, photo, document, voice, from any user
/// in any kind of chat), lists what the bot sent, and makes methods fail (429 with `retry_after`, 409, 5xx) or hang.
public final class StandInTelegram: Sendable {
    public let token: String
    public let username: String
    /// The bot's id: the token's digits before the colon, as Telegram's are.
    public var botId: Int64 { Int64(token.prefix { $0 != ":" }) ?? 1 }

    /// A message the bot sent (`sendMessage`).
    public struct Sent: Codable, Sendable, Equatable {
        public let chatId: Int64
        public let text: String
        public let parseMode: String?
        public let messageId: Int64
        /// Epoch milliseconds.
        public let at: Int64
    }

    /// A chat action the bot sent (`sendChatAction`).
    public struct Action: Codable, Sendable, Equatable {
        public let chatId: Int64
        public let action: String
        public let at: Int64
    }

    /// A way a method fails, for the next `count` calls.
    public struct Fault: Codable, Sendable, Equatable {
        public var method: String
        public var status: Int = 500
        public var description: String?
        public var retryAfter: Int?
        /// Answer nothing until the control API clears it (or 300 s).
        public var hang: Bool = false
        public var count: Int = 1

        public init(
            method: String, status: Int = 500, description: String? = nil, retryAfter: Int? = nil, hang: Bool = false,
            count: Int = 1
        ) {
            self.method = method
            self.status = status
            self.description = description
            self.retryAfter = retryAfter
            self.hang = hang
            self.count = count
        }
    }

    struct StoredUpdate: Sendable {
        let id: Int64
        /// `message`, `edited_message`, `channel_post`, ...
        let type: String
        /// The `Update` object, encoded.
        let json: Data
        /// Epoch milliseconds when it was injected (for the benchmark's overhead).
        let at: Int64
    }

    struct StoredFile: Sendable {
        let path: String
        let data: Data
        /// The size `getFile` and the message state; nil: unstated.
        let statedSize: Int?
    }

    struct State: Sendable {
        var updates: [StoredUpdate] = []
        var nextUpdateId: Int64 = 100_000
        var nextMessageId: Int64 = 1
        var nextFile = 1
        var sent: [Sent] = []
        var actions: [Action] = []
        var commands: [[String: String]] = []
        var webhookDeletions = 0
        var getUpdatesCalls = 0
        /// Calls per method, with the right token or not.
        var calls: [String: Int] = [:]
        var conflicts = 0
        var knownChats: Set<Int64> = []
        var files: [String: StoredFile] = [:]
        var faults: [Fault] = []
        /// The long poll now waiting, and how to wake it: a new update, or a newer poll that terminates it.
        var poll: (id: UUID, wake: CheckedContinuation<Void, Never>)?
        var terminated: Set<UUID> = []
        /// Polls whose time ran out before their waiter was registered: it resumes at once.
        var expired: Set<UUID> = []
        var stopping = false
    }

    let state = Mutex(State())

    public init(
        token: String = "123456789:AAStandInTokenForOttoTests_abcdefghij", username: String = "otto_standin_bot"
    ) {
        self.token = token
        self.username = username
    }

    // MARK: Control (in-process tests use these directly)

    public var sent: [Sent] { state.withLock { $0.sent } }
    public var actions: [Action] { state.withLock { $0.actions } }
    public var commands: [[String: String]] { state.withLock { $0.commands } }
    public var webhookDeletions: Int { state.withLock { $0.webhookDeletions } }
    public var getUpdatesCalls: Int { state.withLock { $0.getUpdatesCalls } }
    /// How often `method` was called (with any token).
    public func calls(_ method: String) -> Int { state.withLock { $0.calls[method] ?? 0 } }
    public var conflicts: Int { state.withLock { $0.conflicts } }
    /// Updates not yet confirmed by an offset past them.
    public var unconfirmed: Int { state.withLock { $0.updates.count } }

    public func addFault(_ fault: Fault) { state.withLock { $0.faults.append(fault) } }
    public func clearFaults() { state.withLock { $0.faults.removeAll() } }

    public func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopping = true
            defer { state.poll = nil }
            return state.poll?.wake
        }
        waiter?.resume()
    }

    /// What a user sends, as the control API's `POST /control/updates` body.
    public struct Injection: Codable, Sendable {
        public struct Chat: Codable, Sendable {
            public var id: Int64
            public var type: String

            public init(id: Int64, type: String) {
                self.id = id
                self.type = type
            }
        }
        public struct File: Codable, Sendable {
            public var name: String?
            public var mime: String?
            /// The file's size; its bytes are generated (a `content` gives them instead).
            public var bytes: Int?
            public var content: String?
            /// Whether the message and `getFile` state the size (Telegram usually does).
            public var statedSize: Bool?

            public init(
                name: String? = nil, mime: String? = nil, bytes: Int? = nil, content: String? = nil,
                statedSize: Bool? = nil
            ) {
                self.name = name
                self.mime = mime
                self.bytes = bytes
                self.content = content
                self.statedSize = statedSize
            }
        }
        public var from: Int64
        public var chat: Chat?
        public var text: String?
        public var caption: String?
        public var photo: File?
        public var document: File?
        public var voice: Bool?
        public var sticker: Bool?
        /// `edited_message` instead of `message`.
        public var edited: Bool?
        /// `channel_post` (from a channel, no `from`).
        public var channelPost: Bool?

        public init(from: Int64, chat: Chat? = nil, text: String? = nil) {
            self.from = from
            self.chat = chat
            self.text = text
        }
    }

    /// Queues the update a user's message makes and wakes the waiting long poll. Returns its `update_id`.
    @discardableResult
    public func inject(_ injection: Injection) -> Int64 {
        let now = Self.now()
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let id = state.nextUpdateId
            state.nextUpdateId += 1
            let messageId = state.nextMessageId
            state.nextMessageId += 1
            let chat = injection.chat ?? .init(id: injection.from, type: "private")
            state.knownChats.insert(chat.id)
            // `Message` ("Available types"): message_id, from (User), chat (Chat), date, and one content field.
            var message: [String: Any] = [
                "message_id": messageId, "date": now / 1000,
                "chat": ["id": chat.id, "type": chat.type] as [String: Any],
            ]
            if injection.channelPost != true {
                message["from"] = ["id": injection.from, "is_bot": false, "first_name": "User \(injection.from)"]
            }
            if let text = injection.text { message["text"] = text }
            if let caption = injection.caption { message["caption"] = caption }
            func store(_ file: Injection.File, prefix: String) -> (String, Data, Int?) {
                let fileId = "\(prefix)_file_\(state.nextFile)"
                state.nextFile += 1
                let data: Data =
                    if let content = file.content { Data(content.utf8) } else {
                        Self.filler(file.bytes ?? 1024, prefix)
                    }
                let stated = file.statedSize == false ? nil : data.count
                state.files[fileId] = StoredFile(
                    path: "\(prefix == "photo" ? "photos" : "documents")/file_\(state.nextFile).bin", data: data,
                    statedSize: stated)
                return (fileId, data, stated)
            }
            if let photo = injection.photo {
                let (fileId, _, stated) = store(photo, prefix: "photo")
                // Several sizes, smallest first, as Telegram sends them; only the largest is a real file here.
                var large: [String: Any] = [
                    "file_id": fileId, "file_unique_id": "u\(fileId)", "width": 1280, "height": 960,
                ]
                if let stated { large["file_size"] = stated }
                message["photo"] = [
                    ["file_id": "thumb_\(fileId)", "file_unique_id": "ut\(fileId)", "width": 90, "height": 67],
                    large,
                ]
            }
            if let document = injection.document {
                let (fileId, _, stated) = store(document, prefix: "document")
                var object: [String: Any] = ["file_id": fileId, "file_unique_id": "u\(fileId)"]
                if let name = document.name { object["file_name"] = name }
                if let mime = document.mime { object["mime_type"] = mime }
                if let stated { object["file_size"] = stated }
                message["document"] = object
            }
            if injection.voice == true {
                message["voice"] = ["file_id": "voice_\(id)", "file_unique_id": "uv\(id)", "duration": 3]
            }
            if injection.sticker == true {
                message["sticker"] = [
                    "file_id": "sticker_\(id)", "file_unique_id": "us\(id)", "type": "regular", "width": 512,
                    "height": 512, "is_animated": false, "is_video": false,
                ]
            }
            let type =
                injection.channelPost == true ? "channel_post" : injection.edited == true ? "edited_message" : "message"
            if type == "edited_message" { message["edit_date"] = now / 1000 }
            let update: [String: Any] = ["update_id": id, type: message]
            let json = (try? JSONSerialization.data(withJSONObject: update)) ?? Data("{}".utf8)
            state.updates.append(StoredUpdate(id: id, type: type, json: json, at: now))
            defer { state.poll = nil }
            return state.poll?.wake
        }
        waiter?.resume()
        return state.withLock { $0.nextUpdateId - 1 }
    }

    static func filler(_ count: Int, _ kind: String) -> Data {
        let header: [UInt8] = kind == "photo" ? [0xFF, 0xD8, 0xFF, 0xE0] : Array("%stand-in file\n".utf8)
        var data = Data(header.prefix(count))
        if count > data.count { data.append(Data(repeating: UInt8(ascii: "x"), count: count - data.count)) }
        return data
    }

    // MARK: The Bot API

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/:bot/:method", method: method) { request, context in
                try await self.botMethod(request, context)
            }
            // File download: `https://api.telegram.org/file/bot<token>/<file_path>` ("getFile").
            router.on("/file/:bot/:directory/:name", method: method) { request, context in
                self.download(request, context)
            }
        }
        addControlRoutes(to: router)
        return router
    }

    public func application(
        host: String = "127.0.0.1", port: Int, logger: Logger = Logger(label: "telegram-standin"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "telegram-standin"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    private func botMethod(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let bot = context.parameters.get("bot") ?? ""
        let method = context.parameters.get("method") ?? ""
        guard bot.hasPrefix("bot") else { return Self.error(404, "Not Found") }
        state.withLock { $0.calls[method, default: 0] += 1 }
        // A wrong token: 401 "Unauthorized", whatever the method.
        guard bot.dropFirst(3) == token else { return Self.error(401, "Unauthorized") }
        let parameters = try await Self.parameters(request)
        if let fault = takeFault(method) {
            if fault.hang {
                let deadline = ContinuousClock.now + .seconds(300)
                while ContinuousClock.now < deadline, hasHangFault(method), !state.withLock({ $0.stopping }) {
                    try await Task.sleep(for: .milliseconds(20))
                }
            } else {
                return Self.error(
                    fault.status, fault.description ?? Self.defaultDescription(fault.status),
                    retryAfter: fault.retryAfter)
            }
        }
        switch method {
        case "getMe":
            // `User`, with the bot-only fields `can_join_groups`, `can_read_all_group_messages`,
            // `supports_inline_queries`.
            return Self.ok([
                "id": botId, "is_bot": true, "first_name": "Otto stand-in", "username": username,
                "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            ])
        case "deleteWebhook":
            state.withLock { $0.webhookDeletions += 1 }
            return Self.ok(true)
        case "setMyCommands":
            // `commands`: 1-100 `BotCommand` `{command (1-32 of a-z, 0-9, _), description (1-256)}`.
            guard let commands = parameters["commands"] as? [[String: Any]], (1...100).contains(commands.count) else {
                return Self.error(400, "Bad Request: parameter \"commands\" is required")
            }
            var list: [[String: String]] = []
            for command in commands {
                guard let name = command["command"] as? String, let text = command["description"] as? String,
                    (1...32).contains(name.count),
                    name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }), (1...256).contains(text.count)
                else { return Self.error(400, "Bad Request: BOT_COMMAND_INVALID") }
                list.append(["command": name, "description": text])
            }
            state.withLock { $0.commands = list }
            return Self.ok(true)
        case "getUpdates":
            return try await getUpdates(parameters)
        case "sendMessage":
            return sendMessage(parameters)
        case "sendChatAction":
            guard let chatId = Self.integer(parameters["chat_id"]), let action = parameters["action"] as? String
            else { return Self.error(400, "Bad Request: chat_id and action are required") }
            guard state.withLock({ $0.knownChats.contains(chatId) }) else {
                return Self.error(400, "Bad Request: chat not found")
            }
            state.withLock { $0.actions.append(Action(chatId: chatId, action: action, at: Self.now())) }
            return Self.ok(true)
        case "getFile":
            // `File` `{file_id, file_unique_id, file_size?, file_path?}`; bots may download files up to 20 MB.
            guard let fileId = parameters["file_id"] as? String, let file = state.withLock({ $0.files[fileId] }) else {
                return Self.error(400, "Bad Request: invalid file_id")
            }
            if file.data.count > 20 * 1024 * 1024 { return Self.error(400, "Bad Request: file is too big") }
            var result: [String: Any] = ["file_id": fileId, "file_unique_id": "u\(fileId)", "file_path": file.path]
            if let size = file.statedSize { result["file_size"] = size }
            return Self.ok(result)
        default:
            return Self.error(404, "Not Found")
        }
    }

    /// "getUpdates": `offset` confirms every update below it (they are never returned again); `limit` 1-100
    /// (default 100); `timeout` seconds of long polling; `allowed_updates` filters the types. A second
    /// `getUpdates` while one waits ends the first with 409 "Conflict: terminated by other getUpdates request".
    private func getUpdates(_ parameters: [String: Any]) async throws -> Response {
        let offset = Self.integer(parameters["offset"]) ?? 0
        let limit = min(max(Self.integer(parameters["limit"]).map(Int.init) ?? 100, 1), 100)
        let timeout = min(max(Self.integer(parameters["timeout"]).map(Int.init) ?? 0, 0), 50)
        let allowed = (parameters["allowed_updates"] as? [String]).flatMap { $0.isEmpty ? nil : Set($0) }
        let id = UUID()
        let deadline = ContinuousClock.now + .seconds(timeout)
        let previous = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.getUpdatesCalls += 1
            if offset > 0 { state.updates.removeAll { $0.id < offset } }
            guard let poll = state.poll else { return nil }
            state.terminated.insert(poll.id)
            state.poll = nil
            state.conflicts += 1
            return poll.wake
        }
        previous?.resume()
        while true {
            let (ready, terminated, stopping) = state.withLock { state in
                let ready = state.updates.filter { allowed?.contains($0.type) ?? true }.prefix(limit)
                return (Array(ready), state.terminated.remove(id) != nil, state.stopping)
            }
            if terminated {
                return Self.error(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
            }
            if !ready.isEmpty || stopping || ContinuousClock.now >= deadline {
                let body = "[" + ready.map { String(decoding: $0.json, as: UTF8.self) }.joined(separator: ",") + "]"
                return Self.raw(200, #"{"ok":true,"result":"# + body + "}")
            }
            // Wait for an update, a newer poll, or the timeout.
            let remaining = deadline - ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if state.stopping || state.terminated.contains(id) || state.expired.contains(id)
                                || state.updates.contains(where: { allowed?.contains($0.type) ?? true })
                            {
                                return true
                            }
                            state.poll = (id, continuation)
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                }
                group.addTask { try? await Task.sleep(for: remaining) }
                await group.next()
                // The other child: a sleeper is cancelled; a waiter is woken by clearing the poll.
                let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard state.poll?.id == id else {
                        state.expired.insert(id)
                        return nil
                    }
                    defer { state.poll = nil }
                    return state.poll?.wake
                }
                waiter?.resume()
                group.cancelAll()
            }
            _ = state.withLock { $0.expired.remove(id) }
        }
    }

    /// "sendMessage": `chat_id`, `text` (1-4096 characters after entities parsing, counted in UTF-16),
    /// `parse_mode` (`MarkdownV2`, `HTML`, `Markdown`) → the sent `Message`.
    private func sendMessage(_ parameters: [String: Any]) -> Response {
        guard let chatId = Self.integer(parameters["chat_id"]) else {
            return Self.error(400, "Bad Request: chat_id is empty")
        }
        guard let text = parameters["text"] as? String, !text.isEmpty else {
            return Self.error(400, "Bad Request: message text is empty")
        }
        guard state.withLock({ $0.knownChats.contains(chatId) }) else {
            return Self.error(400, "Bad Request: chat not found")
        }
        let parseMode = parameters["parse_mode"] as? String
        if let parseMode {
            guard ["MarkdownV2", "HTML", "Markdown"].contains(parseMode) else {
                return Self.error(400, "Bad Request: unsupported parse_mode")
            }
            if let problem = Self.entityProblem(text, parseMode) {
                return Self.error(400, "Bad Request: can't parse entities: \(problem)")
            }
        }
        let visible = parseMode == nil ? text : Self.visibleText(text, parseMode ?? "")
        guard visible.utf16.count <= 4096 else { return Self.error(400, "Bad Request: message is too long") }
        let now = Self.now()
        let messageId = state.withLock { state -> Int64 in
            let id = state.nextMessageId
            state.nextMessageId += 1
            state.sent.append(Sent(chatId: chatId, text: text, parseMode: parseMode, messageId: id, at: now))
            return id
        }
        return Self.ok([
            "message_id": messageId, "date": now / 1000,
            "from": ["id": botId, "is_bot": true, "first_name": "Otto stand-in", "username": username],
            "chat": ["id": chatId, "type": "private"], "text": visible,
        ])
    }

    /// The first thing Telegram's parser would refuse, approximately: in MarkdownV2 a reserved character
    /// (`_*[]()~`>#+-=|{}.!`) not escaped with `\` ("Formatting options"); in HTML an unclosed or unknown tag.
    static func entityProblem(_ text: String, _ mode: String) -> String? {
        switch mode {
        case "MarkdownV2":
            let reserved = Set("_*[]()~`>#+-=|{}.!")
            var escaped = false
            var offset = 0
            for character in text {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if reserved.contains(character), !"*_~`[]()".contains(character) {
                    return "Character '\(character)' is reserved and must be escaped with the preceding '\\'"
                }
                offset += character.utf16.count
            }
            return nil
        case "HTML":
            var open: [String] = []
            let allowed: Set<String> = [
                "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "blockquote", "span",
            ]
            var rest = Substring(text)
            while let start = rest.firstIndex(of: "<") {
                guard let end = rest[start...].firstIndex(of: ">") else { return "unclosed start tag" }
                let tag = rest[rest.index(after: start)..<end]
                let closing = tag.hasPrefix("/")
                let name = String((closing ? tag.dropFirst() : tag).prefix { $0 != " " })
                guard allowed.contains(name) else { return "Unsupported start tag \"\(name)\"" }
                if closing {
                    guard open.last == name else {
                        return "Can't find end tag corresponding to start tag \"\(open.last ?? name)\""
                    }
                    open.removeLast()
                } else {
                    open.append(name)
                }
                rest = rest[rest.index(after: end)...]
            }
            return open.isEmpty ? nil : "Can't find end tag corresponding to start tag \"\(open.last ?? "")\""
        default:
            return nil
        }
    }

    /// The text without its markup, as Telegram counts it.
    static func visibleText(_ text: String, _ mode: String) -> String {
        switch mode {
        case "HTML":
            var result = ""
            var inTag = false
            for character in text {
                if character == "<" {
                    inTag = true
                } else if character == ">" {
                    inTag = false
                } else if !inTag {
                    result.append(character)
                }
            }
            return result
        default:
            return text.replacingOccurrences(of: "\\", with: "")
        }
    }

    private func download(_ request: Request, _ context: BasicRequestContext) -> Response {
        let bot = context.parameters.get("bot") ?? ""
        guard bot.dropFirst(3) == token, bot.hasPrefix("bot") else { return Self.error(401, "Unauthorized") }
        let path = "\(context.parameters.get("directory") ?? "")/\(context.parameters.get("name") ?? "")"
        guard let file = state.withLock({ $0.files.values.first { $0.path == path } }) else {
            return Self.error(404, "Not Found")
        }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.data)))
    }

    private func takeFault(_ method: String) -> Fault? {
        state.withLock { state in
            guard let index = state.faults.firstIndex(where: { $0.method == method || $0.method == "*" }) else {
                return nil
            }
            let fault = state.faults[index]
            if fault.hang { return fault }
            state.faults[index].count -= 1
            if state.faults[index].count <= 0 { state.faults.remove(at: index) }
            return fault
        }
    }

    private func hasHangFault(_ method: String) -> Bool {
        state.withLock { $0.faults.contains { $0.hang && ($0.method == method || $0.method == "*") } }
    }

    // MARK: The control API

    private func addControlRoutes(to router: Router<BasicRequestContext>) {
        router.post("/control/updates") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1024 * 1024)
            guard let injection = try? JSONDecoder().decode(Injection.self, from: Data(buffer: body)) else {
                return Self.raw(
                    400,
                    #"{"error":"expected {from, chat?, text?, caption?, photo?, document?, voice?, sticker?, edited?, channelPost?}"}"#
                )
            }
            let id = self.inject(injection)
            let at = self.state.withLock { state in state.updates.first { $0.id == id }?.at ?? Self.now() }
            return Self.raw(200, #"{"update_id":\#(id),"at":\#(at)}"#)
        }
        router.get("/control/sent") { _, _ -> Response in
            Self.raw(200, String(decoding: (try? JSONEncoder().encode(self.sent)) ?? Data("[]".utf8), as: UTF8.self))
        }
        router.get("/control/actions") { _, _ -> Response in
            Self.raw(200, String(decoding: (try? JSONEncoder().encode(self.actions)) ?? Data("[]".utf8), as: UTF8.self))
        }
        router.get("/control/state") { _, _ -> Response in
            let summary = self.state.withLock { state -> [String: Any] in
                [
                    "commands": state.commands, "webhookDeletions": state.webhookDeletions,
                    "getUpdatesCalls": state.getUpdatesCalls, "unconfirmed": state.updates.count,
                    "conflicts": state.conflicts, "polling": state.poll != nil,
                ]
            }
            return Self.raw(
                200, String(decoding: (try? JSONSerialization.data(withJSONObject: summary)) ?? Data(), as: UTF8.self))
        }
        router.post("/control/faults") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let fault = try? JSONDecoder().decode(Fault.self, from: Data(buffer: body)) else {
                return Self.raw(
                    400, #"{"error":"expected {method, status?, description?, retryAfter?, hang?, count?}"}"#)
            }
            self.addFault(fault)
            return Self.raw(200, #"{"status":"ok"}"#)
        }
        router.delete("/control/faults") { _, _ -> Response in
            self.clearFaults()
            return Self.raw(200, #"{"status":"ok"}"#)
        }
    }

    // MARK: Encoding

    static func ok(_ result: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: ["ok": true, "result": result])) ?? Data()
        return raw(200, String(decoding: data, as: UTF8.self))
    }

    static func error(_ code: Int, _ description: String, retryAfter: Int? = nil) -> Response {
        var body: [String: Any] = ["ok": false, "error_code": code, "description": description]
        if let retryAfter { body["parameters"] = ["retry_after": retryAfter] }
        let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
        return raw(code, String(decoding: data, as: UTF8.self))
    }

    static func defaultDescription(_ status: Int) -> String {
        switch status {
        case 401: "Unauthorized"
        case 409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        case 429: "Too Many Requests: retry after 1"
        case 502: "Bad Gateway"
        default: "Internal Server Error"
        }
    }

    static func raw(_ status: Int, _ text: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A method's parameters from the query string, a form body or a JSON body ("Making requests").
    static func parameters(_ request: Request) async throws -> [String: Any] {
        var parameters: [String: Any] = [:]
        for (key, value) in request.uri.queryParameters { parameters[String(key)] = String(value) }
        let body = try await request.body.collect(upTo: 1024 * 1024)
        guard body.readableBytes > 0 else { return parameters }
        let data = Data(buffer: body)
        let type = request.headers[.contentType] ?? ""
        if type.hasPrefix("application/json") {
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                parameters.merge(object) { _, new in new }
            }
        } else if type.hasPrefix("application/x-www-form-urlencoded") {
            for pair in String(decoding: data, as: UTF8.self).split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                guard let key = parts.first else { continue }
                let value = parts.count > 1 ? parts[1] : ""
                // Arrays and objects are JSON-serialised in forms.
                parameters[key] =
                    (value.hasPrefix("[") || value.hasPrefix("{"))
                    ? ((try? JSONSerialization.jsonObject(with: Data(value.utf8))) ?? value) : value
            }
        }
        return parameters
    }

    static func integer(_ value: Any?) -> Int64? {
        switch value {
        case let number as NSNumber: Int64(exactly: number.doubleValue)
        case let text as String: Int64(text)
        default: nil
        }
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
