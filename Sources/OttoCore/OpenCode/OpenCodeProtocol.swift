import Foundation
import OttoContracts
import Synchronization

/// The two server APIs OpenCode has had. Otto was built against these releases:
/// - 1.x: the server in `packages/opencode/src/server/` of anomalyco/opencode (formerly sst/opencode), routes at the
///   root (`/config/providers`, `/session/{id}/message`), from 1.0; `/global/health` and the permission and
///   question routes that Otto uses to refuse requests need 1.1 or later.
/// - 2.x: the OpenCode 2.1 API under `/api/`, as the PyPI package opencode-python-sdk 0.2.3 describes it (generated
///   from the same contract as the official TypeScript client; its `_errors.py` says "OpenCode 2.1.2").
public enum OpenCodeProtocolVersion: String, Sendable, Equatable, CaseIterable {
    case v1 = "1"
    case v2 = "2"

    /// For errors: what this Otto speaks.
    public static let supportedVersions =
        "OpenCode 1.x (from 1.0, the API at the root) and 2.x (the 2.1 API under /api/)"
}

/// What an OpenCode server said it is.
public struct OpenCodeServerIdentity: Sendable, Equatable {
    /// The version it reports; nil when it does not say (a 1.x older than `/global/health`).
    public let version: String?
    public let protocolVersion: OpenCodeProtocolVersion

    public init(version: String?, protocolVersion: OpenCodeProtocolVersion) {
        self.version = version
        self.protocolVersion = protocolVersion
    }

    /// `OpenCode 2.1.2 at http://127.0.0.1:4096 (protocol 2)`, or `OpenCode (version unknown) at ...`.
    public func logLine(baseURL: String) -> String {
        "OpenCode \(version ?? "(version unknown)") at \(baseURL) (protocol \(protocolVersion.rawValue))"
    }
}

/// Which protocol a client speaks: pinned by the configuration, or what detection found last. Shared by every
/// client of one Otto, so a catalog refresh that finds an upgraded OpenCode switches the prompts too.
public final class OpenCodeDialect: Sendable {
    /// `opencode.protocol`; nil is `"auto"`.
    public let pinned: OpenCodeProtocolVersion?
    private let detected = Mutex<OpenCodeServerIdentity?>(nil)

    public init(pinned: OpenCodeProtocolVersion? = nil) {
        self.pinned = pinned
    }

    /// The server as last detected, if detection ran.
    public var current: OpenCodeServerIdentity? { detected.withLock { $0 } }

    /// The protocol calls use: the detected one, else the pinned one, else 1.x (what Otto spoke before detection).
    public var protocolVersion: OpenCodeProtocolVersion { current?.protocolVersion ?? pinned ?? .v1 }

    /// The outcome of the last call any client on this dialect made: whether OpenCode answered, when, and the
    /// error of the last one that failed (cleared by a success). For the status API, which must not call OpenCode.
    public struct LastCall: Sendable, Equatable {
        public var at: Int64
        public var reachable: Bool
        public var error: String?
        /// Since when every call failed to reach OpenCode; nil while it answers.
        public var unreachableSince: Int64?
    }

    private let lastCallState = Mutex<LastCall?>(nil)
    public var lastCall: LastCall? { lastCallState.withLock { $0 } }

    func recordCall(reachable: Bool, error: String?) {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        lastCallState.withLock { last in
            let since = reachable ? nil : (last?.unreachableSince ?? now)
            last = LastCall(at: now, reachable: reachable, error: error, unreachableSince: since)
        }
    }

    /// Records a detection; true when it differs from the one before (the first one included).
    @discardableResult
    func update(_ identity: OpenCodeServerIdentity) -> Bool {
        detected.withLock { current in
            defer { current = identity }
            return current != identity
        }
    }
}

/// What Otto's prompts may do in OpenCode. By default they can change nothing outside OpenCode's conversation: no
/// file edits or writes, no patches, no shell. Reading, web fetches and MCP tools stay as the agent allows.
public struct OpenCodeSafety: Sendable, Equatable {
    /// OpenCode's tools that change files or run commands, in 1.x's names.
    public static let restrictedTools = ["bash", "edit", "write", "patch"]
    /// The most agents or tools a configuration may name.
    public static let maxListLength = 64

    /// `opencode.agent`: the agent every prompt runs with; nil: OpenCode's default agent.
    public var agent: String?
    /// `opencode.allowTools`: restricted tools the operator allows anyway.
    public var allowTools: [String]
    /// `opencode.allowedAgents`: agents a job may name in `payload.agent`.
    public var allowedAgents: [String]

    public init(agent: String? = nil, allowTools: [String] = [], allowedAgents: [String] = []) {
        self.agent = agent
        self.allowTools = allowTools
        self.allowedAgents = allowedAgents
    }

    /// 1.x's `tools` map: every restricted tool that is not allowed, set to false.
    public var v1Tools: [String: Bool] {
        var tools: [String: Bool] = [:]
        for tool in Self.restrictedTools where !allowTools.contains(tool) { tools[tool] = false }
        return tools
    }

    /// 2.x's permission rules: OpenCode's `edit` permission (which covers writes and patches) and `bash`, denied
    /// unless allowed. `edit` is allowed only when all of edit, write and patch are.
    public var v2Permissions: [(action: String, resource: String, effect: String)] {
        var rules: [(String, String, String)] = []
        if !["edit", "write", "patch"].allSatisfy(allowTools.contains) { rules.append(("edit", "*", "deny")) }
        if !allowTools.contains("bash") { rules.append(("bash", "*", "deny")) }
        return rules
    }

    /// A job's own `payload.agent` is allowed only when the operator listed it.
    public struct AgentNotAllowed: Error, Sendable, Equatable {
        public let agent: String
        public var message: String {
            "the job asks for OpenCode agent \"\(UpstreamText.scrubbed(agent, limit: 64))\", which "
                + "opencode.allowedAgents does not list; add it there to let jobs use it (it may change files)"
        }
    }

    /// The agent a prompt runs with: the job's, when allowed, else `agent`.
    public func agent(requestedByJob requested: String?) throws(AgentNotAllowed) -> String? {
        guard let requested else { return agent }
        guard allowedAgents.contains(requested) else { throw AgentNotAllowed(agent: requested) }
        return requested
    }

    /// An agent name as OpenCode's are: 1 to 64 letters, digits, `_`, `-` or `.`.
    public static func isValidAgentName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "_-.".unicodeScalars.contains($0)
            }
    }
}
