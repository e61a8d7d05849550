import OttoContracts

// Literals for tests only: a model reference or JSON text written in a test is known to be valid, and a typo
// fails the test at once.

extension ModelRef: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) {
        do {
            try self.init(parsing: text)
        } catch {
            fatalError("invalid model reference literal \(text): \(error.message)")
        }
    }
}

extension JSONText: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) {
        guard let parsed = JSONText(parsing: text) else { fatalError("invalid JSON literal \(text)") }
        self = parsed
    }
}
