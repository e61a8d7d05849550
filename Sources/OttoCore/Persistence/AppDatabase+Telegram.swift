import Foundation
import GRDB

/// Telegram's state: the updates Otto accepted, the outbox, the poller's lease and offset, and the chats' OpenCode
/// sessions (in the TypeScript Otto's own `session_bindings` table, so an adopted database continues its chats).
extension AppDatabase {
    static func registerTelegramMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-telegram") { db in
            try db.execute(
                sql: """
                    CREATE TABLE telegram_updates (
                      update_id INTEGER PRIMARY KEY NOT NULL,
                      chat_id INTEGER NOT NULL,
                      user_id INTEGER,
                      kind TEXT NOT NULL
                        CHECK (kind IN ('text', 'command', 'photo', 'document', 'unsupported', 'overflow')),
                      text TEXT,
                      file_id TEXT,
                      file_name TEXT,
                      mime_type TEXT,
                      file_size INTEGER,
                      state TEXT NOT NULL CHECK (state IN ('accepted', 'prompting', 'answered')),
                      prompt_message_id TEXT,
                      session_id TEXT,
                      answered_by TEXT,
                      error_code TEXT,
                      received_at INTEGER NOT NULL,
                      answered_at INTEGER
                    );
                    CREATE INDEX telegram_updates_pending ON telegram_updates(chat_id, update_id)
                      WHERE state != 'answered';
                    CREATE TABLE telegram_outbox (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      dedupe_key TEXT UNIQUE,
                      chat_id INTEGER NOT NULL,
                      text TEXT NOT NULL,
                      parse_mode TEXT CHECK (parse_mode IS NULL OR parse_mode IN ('MarkdownV2', 'HTML')),
                      kind TEXT NOT NULL,
                      status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
                      attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                      next_attempt_at INTEGER NOT NULL,
                      created_at INTEGER NOT NULL,
                      sent_at INTEGER,
                      error TEXT
                    );
                    CREATE INDEX telegram_outbox_queued ON telegram_outbox(id) WHERE status = 'queued';
                    CREATE TABLE telegram_poller (
                      id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                      next_offset INTEGER NOT NULL DEFAULT 0,
                      holder TEXT,
                      lease_expires_at INTEGER,
                      last_update_at INTEGER
                    );
                    INSERT INTO telegram_poller (id) VALUES (1);
                    CREATE TABLE IF NOT EXISTS session_bindings (
                      binding_key TEXT PRIMARY KEY,
                      session_id TEXT NOT NULL,
                      updated_at INTEGER NOT NULL
                    );
                    """)
        }
    }

    // MARK: The poller's lease

    /// Takes (or keeps) the one poller's lease until `until`. Another holder's lease is taken only once it has
    /// expired, or at once when `holderIsGone` says that process no longer exists (a `kill -9` on this machine).
    func claimTelegramPoller(holder: String, until: Int64, now: Int64, holderIsGone: @Sendable (String) -> Bool)
        async throws -> Bool
    {
        try await writer.write { db in
            let row = try Row.fetchOne(db, sql: "SELECT holder, lease_expires_at FROM telegram_poller WHERE id = 1")
            let current: String? = row?["holder"]
            let expires: Int64? = row?["lease_expires_at"]
            if let current, current != holder, let expires, expires >= now, !holderIsGone(current) { return false }
            try db.execute(
                sql: "UPDATE telegram_poller SET holder = ?, lease_expires_at = ? WHERE id = 1",
                arguments: [holder, until])
            return true
        }
    }

    func releaseTelegramPoller(holder: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE telegram_poller SET holder = NULL, lease_expires_at = NULL WHERE id = 1 AND holder = ?",
                arguments: [holder])
        }
    }

    /// The offset to ask Telegram for next, and when the last update arrived.
    func telegramPollerState() async throws -> (offset: Int64, lastUpdateAt: Int64?) {
        try await writer.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT next_offset, last_update_at FROM telegram_poller WHERE id = 1")
            return (row?["next_offset"] ?? 0, row?["last_update_at"])
        }
    }

    // MARK: Incoming

    struct LostTelegramLease: Error {}

    /// Records what one `getUpdates` brought, in one transaction with the next offset, while `holder` still holds
    /// the lease: `accepted` updates are queued for the assistant (or, beyond `maxPending` of one chat's, answered
    /// at once with `overflow(pending)`); the others only move the offset. An update already recorded (Telegram
    /// sent it again because its acknowledgement never arrived) is left as it is. Returns the newly queued ones.
    func recordTelegramUpdates(
        _ accepted: [TelegramInbound], nextOffset: Int64, holder: String, now: Int64, maxPending: Int,
        overflow: @Sendable (TelegramInbound, Int) -> TelegramOutgoing
    ) async throws -> [TelegramInbound] {
        try await writer.write { db in
            let holding = try String.fetchOne(db, sql: "SELECT holder FROM telegram_poller WHERE id = 1")
            guard holding == holder else { throw LostTelegramLease() }
            var queued: [TelegramInbound] = []
            for var inbound in accepted {
                let known = try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM telegram_updates WHERE update_id = ?)",
                    arguments: [inbound.updateId])
                if known == true { continue }
                let pending =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM telegram_updates WHERE chat_id = ? AND state != 'answered'",
                        arguments: [inbound.chatId]) ?? 0
                var reply: TelegramOutgoing?
                if pending >= maxPending {
                    inbound.kind = .overflow
                    inbound.state = .answered
                    reply = overflow(inbound, pending)
                }
                try db.execute(
                    sql: """
                        INSERT INTO telegram_updates (update_id, chat_id, user_id, kind, text, file_id, file_name,
                          mime_type, file_size, state, received_at, answered_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        inbound.updateId, inbound.chatId, inbound.userId, inbound.kind.rawValue,
                        inbound.kind == .overflow ? nil : inbound.text, inbound.file?.fileId, inbound.file?.name,
                        inbound.file?.mimeType, inbound.file?.size, inbound.state.rawValue, now,
                        inbound.state == .answered ? now : nil,
                    ])
                if let reply {
                    try Self.enqueue([reply], db, now: now)
                } else {
                    queued.append(inbound)
                }
            }
            try db.execute(
                sql: """
                    UPDATE telegram_poller SET next_offset = MAX(next_offset, ?),
                      last_update_at = CASE WHEN ? THEN ? ELSE last_update_at END
                    WHERE id = 1
                    """,
                arguments: [nextOffset, !accepted.isEmpty, now])
            return queued
        }
    }

    /// The oldest message of any chat not yet answered.
    func nextTelegramInbound() async throws -> TelegramInbound? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM telegram_updates WHERE state != 'answered' ORDER BY update_id LIMIT 1"
            ).map(Self.inbound)
        }
    }

    /// Notes, before the prompt is sent, the id it goes under: after a restart the answer is looked for there.
    func markTelegramPrompting(updateId: Int64, messageId: String, sessionId: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE telegram_updates SET state = 'prompting', prompt_message_id = ?, session_id = ?
                    WHERE update_id = ? AND state != 'answered'
                    """,
                arguments: [messageId, sessionId, updateId])
        }
    }

    /// Marks a message answered and queues its reply, in one transaction.
    func finishTelegramInbound(
        updateId: Int64, answeredBy: String?, errorCode: String?, replies: [TelegramOutgoing], now: Int64
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE telegram_updates SET state = 'answered', answered_by = ?, error_code = ?, answered_at = ?
                    WHERE update_id = ? AND state != 'answered'
                    """,
                arguments: [answeredBy, errorCode, now, updateId])
            guard db.changesCount == 1 else { return }
            try Self.enqueue(replies, db, now: now)
        }
    }

    private static func inbound(_ row: Row) -> TelegramInbound {
        let fileId: String? = row["file_id"]
        return TelegramInbound(
            updateId: row["update_id"], chatId: row["chat_id"], userId: row["user_id"],
            kind: TelegramInbound.Kind(rawValue: row["kind"]) ?? .unsupported, text: row["text"],
            file: fileId.map {
                TelegramInbound.File(
                    fileId: $0, name: row["file_name"], mimeType: row["mime_type"], size: row["file_size"])
            },
            state: TelegramInbound.State(rawValue: row["state"]) ?? .accepted,
            promptMessageId: row["prompt_message_id"], sessionId: row["session_id"], receivedAt: row["received_at"])
    }

    // MARK: Sessions

    /// The OpenCode session bound to `key` (`telegram:chat:<chatId>:assistant`, the TypeScript Otto's key).
    func sessionBinding(_ key: String) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT session_id FROM session_bindings WHERE binding_key = ?", arguments: [key])
        }
    }

    func bindSession(_ key: String, sessionId: String?, now: Int64) async throws {
        try await writer.write { db in
            if let sessionId {
                try db.execute(
                    sql: """
                        INSERT INTO session_bindings (binding_key, session_id, updated_at) VALUES (?, ?, ?)
                        ON CONFLICT (binding_key) DO UPDATE SET session_id = excluded.session_id,
                          updated_at = excluded.updated_at
                        """,
                    arguments: [key, sessionId, now])
            } else {
                try db.execute(sql: "DELETE FROM session_bindings WHERE binding_key = ?", arguments: [key])
            }
        }
    }

    // MARK: The outbox

    /// Queues messages (a message whose `dedupeKey` is already queued or sent is not queued again).
    func enqueueTelegram(_ messages: [TelegramOutgoing], now: Int64) async throws {
        try await writer.write { db in try Self.enqueue(messages, db, now: now) }
    }

    static func enqueue(_ messages: [TelegramOutgoing], _ db: Database, now: Int64) throws {
        for message in messages {
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO telegram_outbox (dedupe_key, chat_id, text, parse_mode, kind, status,
                      next_attempt_at, created_at)
                    VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
                    """,
                arguments: [message.dedupeKey, message.chatId, message.text, message.parseMode, message.kind, now, now])
        }
    }

    /// The oldest queued message: messages go out in the order they were queued, so a message waiting for its
    /// retry holds back the ones after it.
    func nextTelegramOutbox() async throws -> TelegramOutboxRow? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM telegram_outbox WHERE status = 'queued' ORDER BY id LIMIT 1").map {
                row in
                TelegramOutboxRow(
                    id: row["id"],
                    message: TelegramOutgoing(
                        dedupeKey: row["dedupe_key"], chatId: row["chat_id"], text: row["text"],
                        parseMode: row["parse_mode"], kind: row["kind"]),
                    attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"], createdAt: row["created_at"])
            }
        }
    }

    /// The one write after Telegram accepted a message: the only window in which a kill repeats a message.
    func markTelegramSent(id: Int64, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE telegram_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                arguments: [now, id])
        }
    }

    func rescheduleTelegram(id: Int64, nextAttemptAt: Int64, error: String, failed: Bool, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE telegram_outbox SET attempts = attempts + 1, next_attempt_at = ?, error = ?,
                      status = CASE WHEN ? THEN 'failed' ELSE status END
                    WHERE id = ?
                    """,
                arguments: [nextAttemptAt, error, failed, id])
        }
    }

    /// Replaces a queued message's text and format (a formatted message Telegram could not parse, as plain text).
    func rewriteTelegram(id: Int64, text: String, parseMode: String?) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE telegram_outbox SET text = ?, parse_mode = ? WHERE id = ? AND status = 'queued'",
                arguments: [text, parseMode, id])
        }
    }

    func telegramOutboxCounts() async throws -> (queued: Int, failed: Int) {
        try await writer.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM telegram_outbox WHERE status = 'queued') AS queued,
                           (SELECT COUNT(*) FROM telegram_outbox WHERE status = 'failed') AS failed
                    """)
            return (row?["queued"] ?? 0, row?["failed"] ?? 0)
        }
    }
}
