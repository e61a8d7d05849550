import Foundation
import OttoContracts

extension OttoConfiguration.Reader {
    /// `telegram.*` and `notifications.telegram`.
    mutating func readTelegram(_ root: JSONCNode, homeDirectory: String, into configuration: inout OttoConfiguration) {
        if let notifications = object(root.member("notifications"), "notifications"),
            let value = bool(notifications.member("telegram"), "notifications.telegram")
        {
            configuration.notifications.telegram = value
        }
        guard let node = object(root.member("telegram"), "telegram") else { return }
        var telegram = configuration.telegram
        if let value = bool(node.member("enabled"), "telegram.enabled") { telegram.enabled = value }
        if let file = string(node.member("botTokenFile"), "telegram.botTokenFile") {
            let expanded = OttoLocations.expandingTilde(file, homeDirectory: homeDirectory)
            if expanded.hasPrefix("/") {
                telegram.botTokenFile = expanded
            } else {
                problem(
                    "telegram.botTokenFile",
                    "expected an absolute path, got \"\(UpstreamText.scrubbed(file, limit: 200))\"")
            }
        }
        if let id = integer(
            node.member("allowedUserId"), "telegram.allowedUserId", in: 1...999_999_999_999_999,
            unit: "(a Telegram user id)")
        {
            telegram.allowedUserId = Int64(id)
        }
        if let url = string(node.member("apiBaseUrl"), "telegram.apiBaseUrl") {
            switch OttoConfiguration.normalizedBaseURL(url) {
            case .success(let normalized): telegram.apiBaseURL = normalized
            case .failure(let invalid): problem("telegram.apiBaseUrl", invalid.reason)
            }
        }
        if let value = integer(
            node.member("promptTimeoutMs"), "telegram.promptTimeoutMs", in: 1_000...3_600_000, unit: "milliseconds")
        {
            telegram.promptTimeoutMs = value
        }
        if let mode = node.member("parseMode") {
            if case .null = mode.kind {
                telegram.parseMode = nil
            } else if let text = string(mode, "telegram.parseMode") {
                if ["MarkdownV2", "HTML"].contains(text) {
                    telegram.parseMode = text
                } else {
                    problem(
                        "telegram.parseMode",
                        "expected \"MarkdownV2\", \"HTML\" or null (plain text), got \"\(UpstreamText.scrubbed(text, limit: 40))\""
                    )
                }
            }
        }
        configuration.telegram = telegram
    }
}
