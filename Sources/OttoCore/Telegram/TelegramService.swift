import Foundation
import Logging
import OttoContracts
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Telegram as a surface of the `interactiveAssistant` flow and a notification channel.
///
/// One `otto serve` per database polls (a lease in `telegram_poller`, as the scheduler's claims): it long-polls
/// `getUpdates`, records each update with the next offset in one transaction before that offset acknowledges it to
/// Telegram, answers the recorded messages one at a time in order, and sends the outbox (replies, alerts, digests)
/// in order with retries. A restart at any point resumes from the database: nothing is lost, nothing answered twice
/// but in the one window the Bot API leaves open (between Telegram accepting a message and the write that follows).
public final class TelegramService: Service, Sendable {
    public static let maxFileBytes: Int64 = 15 * 1024 * 1024
    static let downloadTime = Duration.seconds(25)
    /// One message answered and at most this many waiting, per chat.
    static let maxWaiting = 10
    static let commands: [(String, String)] = [
        ("new", "Start a fresh conversation"),
        ("model", "Show the model that answers, and why"),
        ("status", "Next jobs, recent failures, OpenCode"),
        ("help", "What Otto can do here"),
    ]
    /// Document types the model is given; anything else is answered "not supported".
    static let documentTypes: [String: String] = [
        "pdf": "application/pdf", "txt": "text/plain", "text": "text/plain", "csv": "text/csv",
        "json": "application/json", "md": "text/markdown", "markdown": "text/markdown",
    ]

    let settings: TelegramSettings
    let api: TelegramBotAPI
    let database: AppDatabase
    let resolver: ModelResolver
    let openCode: any OpenCodePrompting
    let sender: PromptSender
    let logger: Logger
    /// A short status for `/status`.
    let statusText: @Sendable () async -> String
    let now: @Sendable () -> Int64
    /// Long-poll length; tests and the benchmark keep the default.
    let pollSeconds: Int
    /// `host:pid:random`: whose lease it is, and whether that process is still alive.
    let holder: String
    let leaseMilliseconds: Int64

    private let inbox = Wakeup()
    private let outbox = Wakeup()
    private let state = Mutex(State())
    /// When each ignored sender was last logged, so a flood costs one line a minute each.
    private let ignoredLogged = Mutex([Int64: Int64]())

    struct State {
        var polling: TelegramStatus.Polling = .off
        var standby = false
        var botUsername: String?
        var lastError: TelegramStatus.LastError?
    }

    public init(
        settings: TelegramSettings, database: AppDatabase, resolver: ModelResolver, openCode: any OpenCodePrompting,
        safety: OpenCodeSafety, retries: Int, logger: Logger, pollSeconds: Int = 30,
        statusText: @escaping @Sendable () async -> String,
        now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    ) {
        self.settings = settings
        self.api = TelegramBotAPI(baseURL: settings.apiBaseURL, token: settings.token)
        self.database = database
        self.resolver = resolver
        self.openCode = openCode
        self.sender = PromptSender(
            openCode: openCode, retries: retries, timeout: settings.promptTimeout, safety: safety, logger: logger)
        self.logger = logger
        self.statusText = statusText
        self.now = now
        self.pollSeconds = pollSeconds
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.holder = "\(hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        self.leaseMilliseconds = Int64(pollSeconds + 45) * 1000
    }

    // MARK: Status

    public func status() async -> TelegramStatus {
        let current = state.withLock { $0 }
        let counts = (try? await database.telegramOutboxCounts()) ?? (0, 0)
        let poller = try? await database.telegramPollerState()
        return TelegramStatus(
            enabled: true, botUsername: current.botUsername, polling: current.polling, standby: current.standby,
            lastUpdateAt: poller?.lastUpdateAt, outbox: .init(queued: counts.0, failed: counts.1),
            lastError: current.lastError)
    }

    private func report(_ polling: TelegramStatus.Polling, error: String? = nil) {
        state.withLock { state in
            state.polling = polling
            if let error { state.lastError = .init(at: now(), message: api.token.redacting(error)) }
        }
    }

    // MARK: Running

    public func run() async throws {
        logger.info(
            "Telegram on",
            metadata: [
                "api": "\(settings.apiBaseURL)", "bot": "\(settings.token.botId)",
                "allowedUser": "\(settings.allowedUserId)", "token": "\(settings.tokenSource)",
            ])
        // On shutdown the long poll, the outbox and every wait end at once; a message being answered is finished
        // (within the stop's bound, after which it is cancelled and taken up again at the next start).
        await serve()
        _ = await uncancelled { [database, holder] in try await database.releaseTelegramPoller(holder: holder) }
    }

    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    private func serve() async {
        // Who the bot is: a refused token stops here, reported, and is not tried again until the next start.
        var failures = 0
        while !stopping {
            do {
                let me = try await api.getMe()
                state.withLock { $0.botUsername = me.username }
                logger.info("Telegram bot", metadata: ["username": "\(me.username ?? "")", "id": "\(me.id)"])
                break
            } catch {
                if error.kind == .unauthorized {
                    report(.unauthorized, error: "Telegram refused the bot token (getMe: HTTP 401); fix it and restart")
                    logger.error(
                        "Telegram refused the bot token (HTTP 401): Telegram stays off until the token is fixed (ottoctl telegram setup) and Otto is restarted",
                        metadata: ["from": "\(settings.tokenSource)"])
                    await sleepUntilStopped()
                    return
                }
                failures += 1
                await backOff(after: error, failures: failures)
            }
        }
        while !stopping {
            guard await cancelWhenGracefulShutdown({ await self.takeLease() }) else { return }
            await lead()
        }
    }

    /// Waits until this process holds the poller's lease (or is stopping).
    private func takeLease() async -> Bool {
        var announced = false
        while !stopping {
            do {
                if try await database.claimTelegramPoller(
                    holder: holder, until: now() + leaseMilliseconds, now: now(), holderIsGone: Self.isGone)
                {
                    state.withLock { $0.standby = false }
                    return true
                }
            } catch {
                logger.warning("could not claim the Telegram poller's lease", metadata: ["error": "\(error)"])
            }
            if !announced {
                logger.notice("another otto serve polls this Telegram bot; this one stands by to take over")
                announced = true
            }
            state.withLock {
                $0.standby = true
                $0.polling = .off
            }
            try? await Task.sleep(for: .seconds(5))
        }
        return false
    }

    /// Polls, answers and sends while the lease holds.
    private func lead() async {
        do {
            try await api.deleteWebhook()
            try await api.setMyCommands(Self.commands)
        } catch {
            logger.warning("Telegram set-up call failed", metadata: ["error": "\(error.message)"])
        }
        // The poller, the answerer and the outbox run while the lease holds; the first of them to end (the lease
        // was lost, or Otto stops) ends the others, and this process stands by again.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cancelWhenGracefulShutdown { await self.keepLease() } }
            group.addTask { await cancelWhenGracefulShutdown { await self.pollLoop() } }
            group.addTask { await self.answerLoop() }
            group.addTask { await cancelWhenGracefulShutdown { await self.outboxLoop() } }
            _ = await group.next()
            // Stopping: the answerer finishes the message it is on, and what is due in the outbox goes out (within
            // the stop's bound; the rest waits for the next start). The lease lost: everything stops now.
            if Task.isShuttingDownGracefully {
                await group.waitForAll()
                await flushOutbox()
            } else {
                group.cancelAll()
            }
        }
    }

    /// Renews the lease every third of its length; returns when it is lost, or could not be renewed before it
    /// ran out (another process may hold it by then).
    private func keepLease() async {
        var heldUntil = now() + leaseMilliseconds
        while !stopping {
            try? await Task.sleep(for: .milliseconds(leaseMilliseconds / 3))
            if stopping { return }
            do {
                let until = now() + leaseMilliseconds
                guard
                    try await database.claimTelegramPoller(
                        holder: holder, until: until, now: now(), holderIsGone: Self.isGone)
                else {
                    logger.warning("lost the Telegram poller's lease to another otto serve")
                    return
                }
                heldUntil = until
            } catch {
                logger.warning("could not renew the Telegram poller's lease", metadata: ["error": "\(error)"])
                if now() >= heldUntil { return }
            }
        }
    }

    private func pollLoop() async {
        var offset = (try? await database.telegramPollerState().offset) ?? 0
        var failures = 0
        while !stopping {
            do {
                report(.polling)
                let updates = try await api.getUpdates(offset: offset, timeoutSeconds: pollSeconds)
                failures = 0
                guard let last = updates.map(\.updateId).max() else { continue }
                let accepted = updates.compactMap(accept)
                let queued = try await database.recordTelegramUpdates(
                    accepted, nextOffset: last + 1, holder: holder, now: now(), maxPending: Self.maxWaiting + 1,
                    overflow: { _, pending in
                        TelegramOutgoing(
                            chatId: self.settings.allowedUserId,
                            text: "I am still working on \(pending) messages; this one was not queued. Send it again "
                                + "once I have answered.", kind: "notice")
                    })
                offset = last + 1
                if !queued.isEmpty { inbox.signal() }
                if accepted.count > queued.count { outbox.signal() }
            } catch let error as TelegramError {
                if stopping { return }
                failures += 1
                switch error.kind {
                case .unauthorized:
                    report(.unauthorized, error: error.message)
                    logger.error("Telegram refused the bot token; polling stops until Otto is restarted")
                    await sleepUntilStopped()
                    return
                case .conflict:
                    report(.conflict, error: error.message)
                    logger.warning(
                        "Telegram says another client polls this bot (HTTP 409); make sure only one Otto (or other program) uses this token",
                        metadata: ["error": "\(error.message)"])
                default:
                    report(.backoff, error: error.message)
                    logger.warning("Telegram poll failed; backing off", metadata: ["error": "\(error.message)"])
                }
                await backOff(after: error, failures: failures)
            } catch is AppDatabase.LostTelegramLease {
                logger.warning("lost the Telegram poller's lease to another otto serve")
                return
            } catch {
                if stopping { return }
                failures += 1
                report(.backoff, error: "cannot record Telegram updates: \(error)")
                await backOff(after: nil, failures: failures)
            }
        }
    }

    private func backOff(after error: TelegramError?, failures: Int) async {
        var wait = Duration.seconds(min(60, 1 << min(failures - 1, 6)))
        if case .tooManyRequests(let seconds)? = error?.kind { wait = .seconds(seconds) }
        let pause = wait
        await cancelWhenGracefulShutdown { try? await Task.sleep(for: pause) }
    }

    private func sleepUntilStopped() async {
        try? await gracefulShutdown()
    }

    /// Whether the process named in a lease holder is gone (same machine, no such pid).
    @Sendable static func isGone(_ holder: String) -> Bool {
        let parts = holder.split(separator: ":")
        guard parts.count == 3, let pid = Int32(parts[1]) else { return false }
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard String(parts[0]) == hostName else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    // MARK: Accepting

    /// The message to answer, or nil for an update nobody answers (logged with the reason and the sender, never
    /// the text).
    func accept(_ update: TelegramBotAPI.Update) -> TelegramInbound? {
        let message: TelegramBotAPI.Message
        if let posted = update.message {
            message = posted
        } else if let edited = update.editedMessage {
            ignore(edited.from?.id ?? edited.chat.id, update.updateId, reason: "an edited message")
            return nil
        } else if let post = update.channelPost ?? update.editedChannelPost {
            ignore(post.chat.id, update.updateId, reason: "a channel post")
            return nil
        } else {
            return nil
        }
        guard let from = message.from, from.id == settings.allowedUserId else {
            ignore(message.from?.id ?? message.chat.id, update.updateId, reason: "not the allowed user")
            return nil
        }
        guard message.chat.type == "private", message.chat.id == from.id else {
            ignore(from.id, update.updateId, reason: "not a private chat (\(message.chat.type))")
            return nil
        }
        var inbound = TelegramInbound(
            updateId: update.updateId, chatId: message.chat.id, userId: from.id, kind: .text, text: message.text,
            receivedAt: now())
        if let text = message.text {
            if text.hasPrefix("/") { inbound.kind = .command }
        } else if let photo = message.photo?.max(by: {
            ($0.width ?? 0) * ($0.height ?? 0) < ($1.width ?? 0) * ($1.height ?? 0)
        }) {
            inbound.kind = .photo
            inbound.text = message.caption
            inbound.file = .init(fileId: photo.fileId, name: "photo.jpg", mimeType: "image/jpeg", size: photo.fileSize)
        } else if let document = message.document {
            inbound.kind = .document
            inbound.text = message.caption
            inbound.file = .init(
                fileId: document.fileId, name: document.fileName, mimeType: document.mimeType, size: document.fileSize)
        } else {
            inbound.kind = .unsupported
            inbound.text = message.caption
        }
        return inbound
    }

    private func ignore(_ sender: Int64, _ updateId: Int64, reason: String) {
        let now = now()
        let log = ignoredLogged.withLock { logged -> Bool in
            if let last = logged[sender], now - last < 60_000 { return false }
            if logged.count > 1_000 { logged.removeAll() }
            logged[sender] = now
            return true
        }
        if log {
            logger.notice(
                "ignored a Telegram update",
                metadata: ["reason": "\(reason)", "sender": "\(sender)", "update": "\(updateId)"])
        }
    }

    // MARK: Answering

    private func answerLoop() async {
        await withGracefulShutdownHandler {
            while !stopping {
                do {
                    while !stopping, let inbound = try await database.nextTelegramInbound() {
                        try await answer(inbound)
                    }
                } catch {
                    if stopping { return }
                    logger.error("answering a Telegram message failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                await inbox.wait(timeout: .seconds(60))
            }
        } onGracefulShutdown: {
            self.inbox.signal()
        }
    }

    static func bindingKey(_ chatId: Int64) -> String { "telegram:chat:\(chatId):assistant" }

    private func answer(_ inbound: TelegramInbound) async throws {
        var replies: [String] = []
        var answeredBy: String?
        var errorCode: String?
        switch inbound.kind {
        case .command:
            replies = [try await command(inbound)]
        case .unsupported, .overflow:
            replies = [
                "I can read text, photos and documents (PDF, plain text, CSV, JSON, Markdown); voice messages, "
                    + "videos and stickers are not supported yet."
            ]
        case .text, .photo, .document:
            let outcome = await prompt(inbound)
            if stopping, outcome.errorCode == "interrupted" { return }
            replies = outcome.replies
            answeredBy = outcome.answeredBy
            errorCode = outcome.errorCode
        }
        let messages = replies.flatMap { TelegramText.split($0) }.map {
            TelegramOutgoing(chatId: inbound.chatId, text: $0, parseMode: settings.parseMode, kind: "reply")
        }
        try await database.finishTelegramInbound(
            updateId: inbound.updateId, answeredBy: answeredBy, errorCode: errorCode, replies: messages, now: now())
        outbox.signal()
    }

    private func command(_ inbound: TelegramInbound) async throws -> String {
        let word = (inbound.text ?? "").dropFirst().prefix { !$0.isWhitespace && $0 != "@" }.lowercased()
        switch word {
        case "new":
            try await database.bindSession(Self.bindingKey(inbound.chatId), sessionId: nil, now: now())
            return "Started a fresh conversation: the next message begins a new OpenCode session."
        case "model":
            do {
                let model = try resolver.resolve(flow: .interactiveAssistant, jobModelRef: nil, logFallback: false)
                let why: String =
                    switch model.source {
                    case .job: "chosen for this message"
                    case .flowDefault: "the interactiveAssistant flow default"
                    case .globalDefault: "OpenCode's global default (no interactiveAssistant flow default is set)"
                    case .fallbackGlobalDefault:
                        "OpenCode's global default, because the flow default \(model.requested?.description ?? "") "
                            + "is not in the catalog"
                    case .openCodeDefault: "nothing chooses one, so OpenCode picks it"
                    }
                return "Model: \(model.ref?.description ?? "chosen by OpenCode") (\(why))."
            } catch {
                return "No model can answer: \(error.message)"
            }
        case "status":
            return await statusText()
        case "help", "start":
            return """
                I am Otto. Write to me and the interactiveAssistant model answers; photos and documents (PDF, text, \
                CSV, JSON, Markdown, up to 15 MiB) go to it with their caption.
                /new starts a fresh conversation
                /model shows the model that answers, and why
                /status shows the next jobs, recent failures and whether OpenCode is reachable
                """
        default:
            return "Unknown command /\(word). Try /help."
        }
    }

    struct Outcome {
        var replies: [String]
        var answeredBy: String?
        var errorCode: String?
    }

    private func prompt(_ inbound: TelegramInbound) async -> Outcome {
        let recovering = inbound.state == .prompting
        let excerpt = TelegramText.excerpt(inbound.text ?? inbound.file?.name ?? "your message")
        func failed(_ code: String, _ text: String) -> Outcome {
            logger.warning(
                "Telegram message not answered", metadata: ["update": "\(inbound.updateId)", "error": "\(code)"])
            if recovering, code != "interrupted" {
                return Outcome(
                    replies: [
                        "Otto restarted while working on \"\(excerpt)\" and could not recover the answer. Please "
                            + "send it again."
                    ], errorCode: code)
            }
            return Outcome(replies: [text], errorCode: code)
        }
        let model: ResolvedModel
        do {
            model = try resolver.resolve(flow: .interactiveAssistant, jobModelRef: nil)
        } catch {
            return failed("no_model", "No model can answer right now: \(error.message)")
        }
        var notices: [String] = []
        let key = Self.bindingKey(inbound.chatId)
        var session: String?
        do {
            session = recovering ? inbound.sessionId : try await database.sessionBinding(key)
            if let known = session, !recovering, try await !openCode.sessionExists(known, timeout: .seconds(10)) {
                session = nil
                notices.append("OpenCode no longer knows our earlier conversation, so this starts a new one.")
            }
        } catch let error as OpenCodeError {
            return failed("opencode_unreachable", "OpenCode is not reachable, so I cannot answer: \(error.message)")
        } catch {
            return failed("internal_error", "Otto could not read its state database: \(error)")
        }

        var files: [OpenCodeFile] = []
        if let file = inbound.file {
            switch await download(file, kind: inbound.kind) {
            case .success(let downloaded): files = [downloaded]
            case .failure(let refusal): return Outcome(replies: [refusal.message], errorCode: "file_refused")
            }
        }
        let text =
            inbound.text.flatMap { $0.isEmpty ? nil : $0 }
            ?? (files.isEmpty ? "" : "The operator sent this file without a caption. Say briefly what it is.")
        let messageId = inbound.promptMessageId ?? OpenCodeMessageID.ascending()
        let updateId = inbound.updateId
        let database = self.database
        let log = self.logger
        // The prompt's id goes on record before the prompt can reach OpenCode: after a restart its answer is looked
        // for under that id instead of prompting twice.
        if let session, !recovering {
            do {
                try await database.markTelegramPrompting(updateId: updateId, messageId: messageId, sessionId: session)
            } catch {
                return failed("internal_error", "Otto could not write its state database: \(error)")
            }
        }
        let typing = Task { await self.keepTyping(inbound.chatId) }
        defer { typing.cancel() }
        let exchange = await sender.send(
            text, model: model.ref, session: session, title: "otto telegram chat \(inbound.chatId)", files: files,
            messageId: messageId, mayHaveBeenDelivered: recovering,
            sessionStarted: { sessionId in
                // A new session: bound to the chat and noted on the message before the prompt is sent.
                do {
                    let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
                    try await database.bindSession(key, sessionId: sessionId, now: now)
                    try await database.markTelegramPrompting(
                        updateId: updateId, messageId: messageId, sessionId: sessionId)
                } catch {
                    log.warning("could not record the chat's OpenCode session", metadata: ["error": "\(error)"])
                }
            })
        switch exchange.answer {
        case .success(let answer):
            logger.info(
                "Telegram message answered",
                metadata: [
                    "update": "\(updateId)", "model": "\(model.ref?.description ?? "chosen by OpenCode")",
                    "source": "\(model.source.rawValue)",
                    "answeredBy": "\(answer.answeredBy?.description ?? "unknown")",
                ])
            let body = answer.text.trimmingCharacters(in: .whitespacesAndNewlines)
            return Outcome(
                replies: notices + [body.isEmpty ? "(The model sent an empty answer.)" : answer.text],
                answeredBy: answer.answeredBy?.description)
        case .failure(.timedOut(let seconds)):
            return failed(
                "timeout", "The model did not answer within \(seconds) s, so I stopped it. Try again, or /new.")
        case .failure(.cancelled):
            return failed("interrupted", "Otto was stopped before the model answered.")
        case .failure(.openCode(let error)):
            if case .unauthorized = error.cause {
                return failed("opencode_unauthorized", "OpenCode refused Otto's credentials, so I cannot answer.")
            }
            if error.cause == .httpStatus(404), session != nil {
                try? await database.bindSession(key, sessionId: nil, now: now())
                return failed(
                    "session_gone",
                    "OpenCode no longer knows our conversation. Send your message again to start a new one.")
            }
            let words: String =
                switch error.cause {
                case .connectionRefused, .unreachable, .connectionLost, .timedOut:
                    "OpenCode is not reachable, so I cannot answer"
                default: "OpenCode could not answer"
                }
            return failed(error.code, "\(words): \(error.message)")
        }
    }

    /// `sendChatAction typing` now and every 4.5 s (Telegram shows it for 5 s) until cancelled.
    private func keepTyping(_ chatId: Int64) async {
        while !Task.isCancelled {
            do {
                try await api.sendChatAction(chatId: chatId)
            } catch {
                if Task.isCancelled { return }
            }
            try? await Task.sleep(for: .milliseconds(4_500))
        }
    }

    struct FileRefusal: Error {
        let message: String
    }

    /// The file, when its type is one the model reads and it is small enough: sizes are checked before anything
    /// is downloaded (Telegram's stated size, then `getFile`'s), and the download stops at the limit and the time.
    private func download(_ file: TelegramInbound.File, kind: TelegramInbound.Kind) async -> Result<
        OpenCodeFile, FileRefusal
    > {
        let limit = Self.maxFileBytes
        let name = file.name.map { UpstreamText.scrubbed($0, limit: 120) } ?? (kind == .photo ? "photo.jpg" : "file")
        var mime = file.mimeType ?? ""
        if kind == .document {
            let ext = (name as NSString).pathExtension.lowercased()
            guard let known = Self.documentTypes[ext] ?? Self.documentTypes.values.first(where: { $0 == mime }) else {
                return .failure(
                    FileRefusal(
                        message: "I cannot read \(name): I take PDF, plain text, CSV, JSON and Markdown documents."))
            }
            mime = mime == "application/pdf" || mime.hasPrefix("text/") || mime == "application/json" ? mime : known
        }
        let tooLarge = FileRefusal(message: "\(name) is larger than 15 MiB, the most I take. Send a smaller file.")
        if let size = file.size, size > limit { return .failure(tooLarge) }
        do {
            let described = try await api.getFile(file.fileId)
            if let size = described.fileSize, size > limit { return .failure(tooLarge) }
            guard let path = described.filePath else {
                return .failure(FileRefusal(message: "Telegram did not let me download \(name)."))
            }
            let data = try await api.download(path, maxBytes: Int(limit), within: Self.downloadTime)
            return .success(
                OpenCodeFile(name: name, mimeType: mime.isEmpty ? "application/octet-stream" : mime, data: data))
        } catch {
            if error.kind == .fileTooLarge {
                return .failure(
                    error.message.contains("within")
                        ? FileRefusal(message: "\(name) did not arrive within 25 s. Try again, or send a smaller file.")
                        : tooLarge)
            }
            logger.warning("Telegram file download failed", metadata: ["error": "\(error.message)"])
            return .failure(FileRefusal(message: "I could not download \(name) from Telegram. Try again."))
        }
    }

    // MARK: The outbox

    static let giveUpAfter: Int64 = 24 * 3600 * 1000

    private func outboxLoop() async {
        while !stopping {
            let row: TelegramOutboxRow?
            do {
                row = try await database.nextTelegramOutbox()
            } catch {
                logger.warning("cannot read the Telegram outbox", metadata: ["error": "\(error)"])
                await outbox.wait(timeout: .seconds(5))
                continue
            }
            guard let row else {
                await outbox.wait(timeout: .seconds(60))
                continue
            }
            let wait = row.nextAttemptAt - now()
            if wait > 0 {
                await outbox.wait(timeout: .milliseconds(wait))
                continue
            }
            await send(row)
        }
    }

    /// Sends what is due now, in order, at most 20 messages; stops at the first that fails.
    private func flushOutbox() async {
        for _ in 0..<20 {
            let database = self.database
            guard case .success(let row?) = await uncancelled({ try await database.nextTelegramOutbox() }),
                row.nextAttemptAt <= now()
            else { return }
            await send(row)
            guard case .success(let next) = await uncancelled({ try await database.nextTelegramOutbox() }),
                next?.id != row.id
            else { return }
        }
    }

    private func send(_ row: TelegramOutboxRow) async {
        let message = row.message
        let api = self.api
        // Not cut short by shutdown: a message Telegram accepted is recorded as sent before Otto stops, so only a
        // kill can send it twice.
        let sent = await uncancelled {
            try await api.sendMessage(chatId: message.chatId, text: message.text, parseMode: message.parseMode)
        }
        if case .failure(let error) = sent {
            await sendFailed(
                row, error as? TelegramError ?? TelegramError(kind: .transient, message: "sendMessage: \(error)"))
            return
        }
        let database = self.database
        let sentAt = now()
        let recorded = await uncancelled { try await database.markTelegramSent(id: row.id, now: sentAt) }
        if case .failure(let error) = recorded {
            // Sent but not recorded: the one window in which a message can go out twice.
            logger.error(
                "a Telegram message was sent but could not be recorded as sent; it may be sent again",
                metadata: ["outbox": "\(row.id)", "error": "\(error)"])
        }
    }

    private func sendFailed(_ row: TelegramOutboxRow, _ error: TelegramError) async {
        let now = now()
        if error.isParseError, row.message.parseMode != nil {
            logger.notice(
                "Telegram could not parse a formatted message; sending it as plain text",
                metadata: ["outbox": "\(row.id)"])
            try? await database.rewriteTelegram(id: row.id, text: row.message.text, parseMode: nil)
            return
        }
        var next = now + min(Int64(1_000) << Int64(min(row.attempts, 10)), 15 * 60 * 1000)
        var failed = now - row.createdAt > Self.giveUpAfter
        switch error.kind {
        case .tooManyRequests(let seconds):
            next = now + Int64(seconds) * 1000
        case .refused(let status) where status != 0:
            // Telegram refused this message (chat not found, blocked by the user, too long): retrying won't help.
            failed = true
        case .unauthorized:
            report(.unauthorized, error: error.message)
            next = now + 60_000
        default:
            break
        }
        state.withLock { $0.lastError = .init(at: now, message: api.token.redacting(error.message)) }
        logger.warning(
            failed
                ? "a Telegram message could not be sent and is marked failed"
                : "a Telegram message could not be sent; retrying",
            metadata: [
                "outbox": "\(row.id)", "kind": "\(row.message.kind)", "attempts": "\(row.attempts + 1)",
                "error": "\(error.message)",
            ])
        try? await database.rescheduleTelegram(
            id: row.id, nextAttemptAt: next, error: error.message, failed: failed, now: now)
    }
}

/// Telegram as `otto serve` runs it: off, configured but unusable, or on.
public struct TelegramSurface: Sendable {
    public enum Mode: Sendable {
        case off(reason: String)
        case unusable(reason: String, at: Int64)
        case on(TelegramService)
    }

    public let mode: Mode
    let database: AppDatabase

    public var service: TelegramService? {
        if case .on(let service) = mode { return service }
        return nil
    }

    public func status() async -> TelegramStatus {
        switch mode {
        case .on(let service):
            return await service.status()
        case .off, .unusable:
            let counts = (try? await database.telegramOutboxCounts()) ?? (0, 0)
            var lastError: TelegramStatus.LastError?
            if case .unusable(let reason, let at) = mode { lastError = .init(at: at, message: reason) }
            return TelegramStatus(
                enabled: false, botUsername: nil, polling: .off,
                lastUpdateAt: (try? await database.telegramPollerState())?.lastUpdateAt,
                outbox: .init(queued: counts.0, failed: counts.1), lastError: lastError)
        }
    }
}

extension TelegramService {
    /// `/status`: whether OpenCode answers, the last day's runs and failures, and the next jobs.
    static func statusText(database: AppDatabase, openCode: OpenCodeClient) async -> String {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        var lines: [String] = []
        do {
            let identity = try await openCode.detect()
            lines.append("OpenCode: reachable, " + identity.logLine(baseURL: openCode.baseURL))
        } catch {
            lines.append("OpenCode: NOT reachable at \(openCode.baseURL): \(error.message)")
        }
        do {
            let digest = try await database.activity(
                since: now - 24 * 3600 * 1000, excludingJob: "", failureLimit: 5, upcomingLimit: 5)
            let counts = JobRun.Status.allCases.compactMap { status in
                (digest.runsByStatus[status] ?? 0) > 0 ? "\(status.rawValue) \(digest.runsByStatus[status] ?? 0)" : nil
            }
            lines.append("Runs in the last 24 h: " + (counts.isEmpty ? "none" : counts.joined(separator: ", ")))
            if digest.failures.isEmpty {
                lines.append("Failures: none")
            } else {
                lines.append("Last failures:")
                for failure in digest.failures {
                    let run = failure.run
                    lines.append(
                        "- \(run.jobId) at \(SystemDigests.time(run.startedAt)): \(run.errorCode ?? "failed")")
                }
            }
            if digest.upcoming.isEmpty {
                lines.append("Next jobs: none")
            } else {
                lines.append("Next jobs:")
                for job in digest.upcoming {
                    lines.append("- \(job.id) at \(job.nextRunAt.map(SystemDigests.time) ?? "unscheduled")")
                }
            }
        } catch {
            lines.append("The state database could not be read: \(error)")
        }
        return lines.joined(separator: "\n")
    }
}
