import Foundation

/// A message from Telegram that Otto accepted: recorded in the state database before Telegram is told (by the next
/// `getUpdates` offset) that it arrived, and answered from there, so neither a restart nor a `kill -9` loses it.
public struct TelegramInbound: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Text for the assistant.
        case text
        /// `/new`, `/model`, `/status`, `/help`, `/start`.
        case command
        /// A photo or a document for the assistant, with its caption as the prompt.
        case photo
        case document
        /// Voice, video, stickers, ...: answered with a short "not supported yet".
        case unsupported
        /// Arrived while the queue was full: answered with a short "send it again later".
        case overflow
    }

    public enum State: String, Sendable {
        /// Recorded, not yet sent to OpenCode.
        case accepted
        /// Its prompt may have reached OpenCode (`promptMessageId` says under which id).
        case prompting
        /// Its reply is in the outbox (or it needed none).
        case answered
    }

    /// A file that came with the message, downloaded only when the message is answered.
    public struct File: Sendable, Equatable {
        public var fileId: String
        public var name: String?
        public var mimeType: String?
        /// What Telegram says the size is (it may not say).
        public var size: Int64?
    }

    public var updateId: Int64
    public var chatId: Int64
    public var userId: Int64?
    public var kind: Kind
    /// The text, the caption, or the command with its arguments.
    public var text: String?
    public var file: File?
    public var state: State = .accepted
    public var promptMessageId: String?
    public var sessionId: String?
    public var receivedAt: Int64
}

/// A message for the outbox: sent in order, retried, never lost across a restart.
public struct TelegramOutgoing: Sendable, Equatable {
    /// A message with a key already in the outbox is not queued again (a run's notification, say).
    public var dedupeKey: String?
    public var chatId: Int64
    public var text: String
    /// `MarkdownV2` or `HTML`; nil: plain text.
    public var parseMode: String?
    /// `reply`, `notice`, `watchdog`, `heartbeat`: for logs and status.
    public var kind: String

    public init(dedupeKey: String? = nil, chatId: Int64, text: String, parseMode: String? = nil, kind: String) {
        self.dedupeKey = dedupeKey
        self.chatId = chatId
        self.text = text
        self.parseMode = parseMode
        self.kind = kind
    }
}

/// An outbox row waiting to be sent.
struct TelegramOutboxRow: Sendable, Equatable {
    var id: Int64
    var message: TelegramOutgoing
    var attempts: Int
    var nextAttemptAt: Int64
    var createdAt: Int64
}
