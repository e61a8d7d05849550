import Foundation
import Hummingbird
import HummingbirdTesting
import OttoContracts
import OttoServer
import OttoTestSupport
import Testing

@testable import OttoCore

#if canImport(Glibc)
    import Glibc
#endif

/// A config write that the storage refuses (a full disk) is a 503 that changes nothing, not a 409.
@Suite struct StorageFailureTests {
    @Test func aConfigWriteOnAFullDiskIs503AndChangesNothing() async throws {
        try await APIHarness.run { api in
            let path = api.home.configPath
            let directory = (path as NSString).deletingLastPathComponent
            let logs = CapturedLogs()
            // Exactly what AtomicFile.write reports on a full disk: writing its temporary file fails with ENOSPC.
            // (A full file system cannot be made here without mounting one.)
            let fullDisk = FlowDefaultsStore(
                path: path, initial: FlowDefaults(), logger: logs.logger(),
                writeFile: { _, _, _ throws(AtomicFile.WriteError) in
                    throw AtomicFile.WriteError(
                        path: directory + "/.config.jsonc.tmp-\(getpid())-42", operation: "write", errnoCode: ENOSPC)
                })
            let models = ModelManagementService(
                catalog: api.runtime.catalog, flowDefaults: fullDisk, resolver: api.runtime.resolver,
                database: api.runtime.database, logger: logs.logger())
            let services = ExternalAPIServices(models: models, jobs: api.runtime.jobs, token: api.runtime.apiToken)
            let before = try api.home.readConfig()
            let app = Application(router: buildRouter(services, logger: logs.logger()), logger: logs.logger())
            try await app.test(.router) { client in
                let response = try await client.execute(
                    uri: "/external/models/defaults", method: .put,
                    headers: [.authorization: "Bearer \(api.token)", .contentType: "application/json"],
                    body: ByteBuffer(string: ModelsRoutesTests.defaultsJSON(["heartbeat": "openai/gpt-5"])))
                #expect(response.status == .serviceUnavailable)
                let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(buffer: response.body))
                #expect(error.error == "storage_unavailable")
                #expect(error.message.contains(path))
                #expect(error.message.contains("No space left on device"))
                #expect(error.message.contains("nothing was changed"))
                #expect(!error.message.contains(".tmp-"), "the temporary file is no business of the client")
            }
            #expect(try api.home.readConfig() == before)
            #expect(fullDisk.current().defaults == FlowDefaults())
            let audit = try await api.runtime.database.commandAudit(limit: 1)
            #expect(audit.first?.status == .failed)
        }
    }
}
