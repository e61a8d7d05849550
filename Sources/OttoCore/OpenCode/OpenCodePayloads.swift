import Foundation
import OttoContracts

/// The only code that knows the JSON shapes of OpenCode's `/config/providers` and `/config`.
public enum OpenCodePayloads {
    /// The most models a catalog may list (models.dev lists about 3,000).
    public static let maxCatalogModels = 50_000

    /// Every `providerId/modelId` in a `/config/providers` body, de-duplicated and in code-point order.
    /// Extra fields are ignored and malformed providers or models are skipped; a body that is not
    /// `{"providers": [...]}` at all is an error whose reason says what was expected.
    public static func catalogRefs(fromProvidersBody body: Data) throws(PayloadError) -> [ModelRef] {
        let payload: ProvidersBody
        do {
            payload = try JSONDecoder().decode(ProvidersBody.self, from: body)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw PayloadError(reason: "not JSON")
            }
            throw PayloadError(reason: "expected an object with a \"providers\" array")
        } catch {
            throw PayloadError(reason: "not JSON")
        }
        // Counted before a reference is built: a catalog of 500,000 models would cost seconds and hundreds of MB.
        let listed = payload.providers.reduce(0) { $0 + $1.modelIds.count }
        guard listed <= maxCatalogModels else {
            throw PayloadError(
                reason: "the catalog lists \(listed) models, more than the \(maxCatalogModels) Otto accepts")
        }
        var seen = Set<ModelRef>()
        for provider in payload.providers {
            guard let providerId = provider.id else { continue }
            for modelId in provider.modelIds {
                if let ref = try? ModelRef(providerId: providerId, modelId: modelId) {
                    seen.insert(ref)
                }
            }
        }
        return seen.sorted()
    }

    /// OpenCode's global default model: the `model` field of a `/config` body, if present and valid.
    public static func globalDefault(fromConfigBody body: Data) throws(PayloadError) -> ModelRef? {
        let payload: ConfigBody
        do {
            payload = try JSONDecoder().decode(ConfigBody.self, from: body)
        } catch {
            throw PayloadError(reason: "expected a JSON object")
        }
        guard let model = payload.model else { return nil }
        return try? ModelRef(parsing: model)
    }

    public struct PayloadError: Error, Equatable, Sendable {
        public let reason: String
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct ProvidersBody: Decodable {
        let providers: [LenientProvider]
    }

    /// A provider entry that never fails to decode: anything malformed simply yields no models.
    private struct LenientProvider: Decodable {
        let id: String?
        let modelIds: [String]

        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: AnyKey.self),
                let id = try? container.decode(String.self, forKey: AnyKey(stringValue: "id")),
                let models = try? container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey(stringValue: "models"))
            else {
                self.id = nil
                self.modelIds = []
                return
            }
            self.id = id
            // A model entry counts only if its value is an object, as OpenCode's are.
            self.modelIds = models.allKeys.compactMap { key in
                (try? models.nestedContainer(keyedBy: AnyKey.self, forKey: key)) != nil ? key.stringValue : nil
            }
        }
    }

    private struct ConfigBody: Decodable {
        let model: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            model = try? container.decode(String.self, forKey: AnyKey(stringValue: "model"))
        }
    }
}
