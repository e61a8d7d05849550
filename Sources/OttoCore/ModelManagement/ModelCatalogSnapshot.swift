import OttoContracts

/// The catalog as it stands at one moment: what OpenCode listed, when, and where it came from.
public struct ModelCatalogSnapshot: Sendable {
    /// Every model reference, de-duplicated, in code-point order.
    public let refs: [ModelRef]
    /// When the refs were fetched from OpenCode (epoch milliseconds); nil before the first fetch.
    public let updatedAt: Int64?
    public let source: CatalogSource
    /// OpenCode's global default model (`GET /config`), known only after a fetch from OpenCode.
    public let globalDefault: ModelRef?
    private let members: Set<ModelRef>

    public init(refs: [ModelRef], updatedAt: Int64?, source: CatalogSource, globalDefault: ModelRef?) {
        self.refs = refs
        self.updatedAt = updatedAt
        self.source = source
        self.globalDefault = globalDefault
        self.members = Set(refs)
    }

    public static let empty = ModelCatalogSnapshot(refs: [], updatedAt: nil, source: .cache, globalDefault: nil)

    public func contains(_ ref: ModelRef) -> Bool { members.contains(ref) }

    public var count: Int { refs.count }
}
