import Foundation

/// The recorded real OpenCode catalog (models.dev data in OpenCode's shape), committed under `Tests/Fixtures`.
public enum Fixtures {
    /// `Tests/Fixtures/opencode`, found from this file's own location so tests run from a clone anywhere.
    public static let openCodeDirectory: String = {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // OttoTestSupport
            .deletingLastPathComponent()  // Tests
            .appendingPathComponent("Fixtures/opencode")
            .path
    }()

    /// `Tests/Fixtures/original-otto/otto-state.db`: a state database with exactly the TypeScript Otto's schema.
    public static let originalOttoDatabase: String = {
        URL(fileURLWithPath: openCodeDirectory).deletingLastPathComponent()
            .appendingPathComponent("original-otto/otto-state.db").path
    }()

    /// The body of `GET /config/providers`.
    public static let providersBody: Data = {
        // A missing fixture is a broken checkout, not a test result.
        try! Data(contentsOf: URL(fileURLWithPath: openCodeDirectory + "/config-providers.json"))
    }()

    /// The body of `GET /config`.
    public static let configBody: Data = {
        try! Data(contentsOf: URL(fileURLWithPath: openCodeDirectory + "/config.json"))
    }()

    /// Every `provider/model` in the fixture, computed independently of Otto's parser (JSONSerialization),
    /// in code-point order: the expected catalog.
    public static let expectedRefs: [String] = {
        let object = try! JSONSerialization.jsonObject(with: providersBody) as! [String: Any]
        var refs = Set<String>()
        for provider in object["providers"] as! [[String: Any]] {
            let id = provider["id"] as! String
            for modelId in (provider["models"] as! [String: Any]).keys {
                refs.insert("\(id)/\(modelId)")
            }
        }
        return refs.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }()

    /// A `/config/providers` body with the given providers and model ids, in OpenCode's shape.
    public static func providersBody(_ providers: [String: [String]]) -> Data {
        let list: [[String: Any]] = providers.keys.sorted().map { id in
            [
                "id": id,
                "name": id,
                "env": [],
                "models": Dictionary(
                    uniqueKeysWithValues: providers[id]!.map { ($0, ["id": $0, "name": $0] as [String: Any]) }
                ),
            ]
        }
        return try! JSONSerialization.data(withJSONObject: ["providers": list, "default": [:] as [String: String]])
    }

    /// A `/config` body naming `model` as OpenCode's global default.
    public static func configBody(globalDefault model: String?) -> Data {
        try! JSONSerialization.data(withJSONObject: model.map { ["model": $0] } ?? [:])
    }
}
