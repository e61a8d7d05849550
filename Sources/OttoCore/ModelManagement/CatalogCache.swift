import Foundation
import OttoContracts

/// The on-disk copy of the catalog, `{"refs": ["provider/model", ...], "updatedAt": <epoch ms>}`, the same file
/// the original TypeScript Otto wrote. Writes are atomic, so a crash never leaves half a cache.
public struct CatalogCache: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    struct File: Codable {
        let refs: [String]
        let updatedAt: Int64
    }

    public struct CorruptCache: Error, LocalizedError, Sendable {
        public let path: String
        public let reason: String
        public var errorDescription: String? { "the catalog cache \(path) is unusable: \(reason)" }
    }

    /// The cached snapshot (source `cache`), or nil if there is no cache file yet.
    public func load() throws(CorruptCache) -> ModelCatalogSnapshot? {
        let data: Data
        do {
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CorruptCache(path: path, reason: error.localizedDescription)
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw CorruptCache(path: path, reason: "expected {\"refs\": [...], \"updatedAt\": <epoch ms>}")
        }
        var refs = Set<ModelRef>()
        for text in file.refs {
            guard let ref = try? ModelRef(parsing: text) else {
                throw CorruptCache(path: path, reason: "it lists an invalid model reference \"\(text)\"")
            }
            refs.insert(ref)
        }
        return ModelCatalogSnapshot(refs: refs.sorted(), updatedAt: file.updatedAt, source: .cache, globalDefault: nil)
    }

    public func save(refs: [ModelRef], updatedAt: Int64) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(File(refs: refs.map(\.description), updatedAt: updatedAt))
        try AtomicFile.createDirectory((path as NSString).deletingLastPathComponent, permissions: 0o700)
        try AtomicFile.write(data, to: path, permissions: 0o600)
    }
}
