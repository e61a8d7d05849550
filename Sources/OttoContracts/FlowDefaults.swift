#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The model chosen for each runtime flow; `nil` means "inherit" (fall through to OpenCode's global default).
public struct FlowDefaults: Equatable, Hashable, Sendable {
    public var interactiveAssistant: ModelRef?
    public var scheduledTasks: ModelRef?
    public var heartbeat: ModelRef?
    public var watchdogFailures: ModelRef?

    public init(
        interactiveAssistant: ModelRef? = nil,
        scheduledTasks: ModelRef? = nil,
        heartbeat: ModelRef? = nil,
        watchdogFailures: ModelRef? = nil
    ) {
        self.interactiveAssistant = interactiveAssistant
        self.scheduledTasks = scheduledTasks
        self.heartbeat = heartbeat
        self.watchdogFailures = watchdogFailures
    }

    public subscript(flow: RuntimeModelFlow) -> ModelRef? {
        get {
            switch flow {
            case .interactiveAssistant: interactiveAssistant
            case .scheduledTasks: scheduledTasks
            case .heartbeat: heartbeat
            case .watchdogFailures: watchdogFailures
            }
        }
        set {
            switch flow {
            case .interactiveAssistant: interactiveAssistant = newValue
            case .scheduledTasks: scheduledTasks = newValue
            case .heartbeat: heartbeat = newValue
            case .watchdogFailures: watchdogFailures = newValue
            }
        }
    }

    /// One raw value found under a flow key, as the caller's JSON reader saw it.
    public enum RawValue: Sendable, Equatable {
        case null
        case string(String)
        /// Any other JSON type; `typeName` is how it reads in a message ("a number", "an object").
        case other(typeName: String)
    }

    /// Validates raw `flow → value` entries. Every problem is reported with its path
    /// (`<pathPrefix>.<flow>`), not just the first, so a person can fix them all at once.
    /// - Parameter requireAll: whether each of the four flows must be present (the API's PUT); when false,
    ///   a missing flow is `nil` (a hand-written config file may leave flows out).
    public static func validate(
        _ entries: [(key: String, value: RawValue)],
        requireAll: Bool,
        pathPrefix: String
    ) -> Result<FlowDefaults, FieldIssues> {
        var result = FlowDefaults()
        var issues: [FieldIssue] = []
        var seen = Set<RuntimeModelFlow>()
        for (key, value) in entries {
            let path = pathPrefix.isEmpty ? key : "\(pathPrefix).\(key)"
            let flow: RuntimeModelFlow
            do {
                flow = try RuntimeModelFlow(parsing: key)
            } catch {
                issues.append(FieldIssue(path: path, message: error.message))
                continue
            }
            seen.insert(flow)
            switch value {
            case .null:
                result[flow] = nil
            case .string(let text):
                do {
                    result[flow] = try ModelRef(parsing: text)
                } catch {
                    issues.append(FieldIssue(path: path, message: error.message))
                }
            case .other(let typeName):
                issues.append(
                    FieldIssue(
                        path: path,
                        message: "expected a \"provider/model\" string or null, got \(typeName)"
                    )
                )
            }
        }
        if requireAll {
            for flow in RuntimeModelFlow.allCases where !seen.contains(flow) {
                let path = pathPrefix.isEmpty ? flow.rawValue : "\(pathPrefix).\(flow.rawValue)"
                issues.append(
                    FieldIssue(path: path, message: "missing; give a \"provider/model\" string or null to inherit")
                )
            }
        }
        return issues.isEmpty ? .success(result) : .failure(FieldIssues(issues))
    }
}

extension FlowDefaults {
    /// Validates the members of a parsed `flowDefaults` object (from the config file or a request body).
    public static func validate(
        _ members: [JSONCNode.Member],
        requireAll: Bool,
        pathPrefix: String
    ) -> Result<FlowDefaults, FieldIssues> {
        validate(members.map { ($0.key, RawValue($0.value)) }, requireAll: requireAll, pathPrefix: pathPrefix)
    }
}

extension FlowDefaults.RawValue {
    /// The value of a parsed JSON node, as far as a flow default cares.
    public init(_ node: JSONCNode) {
        switch node.kind {
        case .null: self = .null
        case .string(let text): self = .string(text)
        default: self = .other(typeName: node.typeName)
        }
    }
}

extension FlowDefaults: Codable {
    private struct FlowKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Strict decoding: all four flows present, no other keys, each value a model reference or null.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: FlowKey.self)
        var entries: [(key: String, value: RawValue)] = []
        for key in container.allKeys {
            if try container.decodeNil(forKey: key) {
                entries.append((key.stringValue, .null))
            } else if let text = try? container.decode(String.self, forKey: key) {
                entries.append((key.stringValue, .string(text)))
            } else {
                entries.append((key.stringValue, .other(typeName: "a value that is not a string")))
            }
        }
        switch Self.validate(entries, requireAll: true, pathPrefix: "") {
        case .success(let value): self = value
        case .failure(let issues):
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: issues.message)
            )
        }
    }

    /// Always writes all four flows, in their fixed order, with `null` for inherit.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FlowKey.self)
        for flow in RuntimeModelFlow.allCases {
            let key = FlowKey(stringValue: flow.rawValue)
            if let ref = self[flow] {
                try container.encode(ref, forKey: key)
            } else {
                try container.encodeNil(forKey: key)
            }
        }
    }
}
