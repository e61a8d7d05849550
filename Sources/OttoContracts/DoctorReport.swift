/// `otto doctor --json` and `ottoctl doctor --json`: each check's result, one line of evidence, and the fix when it
/// is not ok; `incident` is the report file written when a check failed.
public struct DoctorReport: Codable, Sendable, Equatable {
    public enum Result: String, Codable, Sendable, Comparable {
        case ok, warn, fail

        var rank: Int { self == .ok ? 0 : self == .warn ? 1 : 2 }
        public static func < (lhs: Result, rhs: Result) -> Bool { lhs.rank < rhs.rank }
    }

    public struct Check: Codable, Sendable, Equatable {
        public var name: String
        public var result: Result
        public var evidence: String
        public var fix: String?

        public init(name: String, result: Result, evidence: String, fix: String? = nil) {
            self.name = name
            self.result = result
            self.evidence = evidence
            self.fix = fix
        }

        enum CodingKeys: String, CodingKey { case name, result, evidence, fix }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(result, forKey: .result)
            try container.encode(evidence, forKey: .evidence)
            try container.encode(fix, forKey: .fix)
        }
    }

    public var checks: [Check]
    public var incident: String?

    public init(checks: [Check], incident: String? = nil) {
        self.checks = checks
        self.incident = incident
    }

    enum CodingKeys: String, CodingKey { case checks, incident }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(checks, forKey: .checks)
        try container.encode(incident, forKey: .incident)
    }

    /// 0 when every check is ok, 1 with warnings, 2 with failures.
    public var exitStatus: Int32 {
        switch checks.map(\.result).max() ?? .ok {
        case .ok: 0
        case .warn: 1
        case .fail: 2
        }
    }
}
