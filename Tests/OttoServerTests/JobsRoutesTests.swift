import Foundation
import Hummingbird
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

@Suite struct JobsRoutesTests {
    static let recurring =
        #"{"id": "inbox", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60, "payload": {"prompt": "summarise"}}"#

    @Test func aJobIsCreatedListedAndShownWithItsEffectiveModel() async throws {
        try await APIHarness.run { api in
            let created = try await api.createJob(Self.recurring)
            #expect(created.status == .created)
            #expect(try created.decode(JobMutationResponse.self) == JobMutationResponse(id: "inbox", status: "created"))

            let job = try await api.job("inbox")
            #expect(job.type == "report")
            #expect(job.scheduleType == .recurring)
            #expect(job.cadenceMinutes == 60)
            #expect(job.payload?.value == .object(["prompt": .string("summarise")]))
            #expect(job.modelRef == nil)
            #expect(job.managedBy == .operator)
            #expect(job.isMutable)
            #expect(job.runAt != nil && job.nextRunAt == job.runAt)
            #expect(job.effectiveModel == EffectiveModel(ref: "anthropic/claude-opus-4-7", source: .globalDefault))
            let raw = try await api.call(.get, "/external/jobs/inbox").text
            #expect(!raw.contains("lock"))

            let generated = try await api.createJob(
                #"{"type": "digest", "scheduleType": "oneshot", "runAt": 1900000000000}"#)
            let id = try generated.decode(JobMutationResponse.self).id
            #expect(!id.isEmpty)
            let list = try await api.call(.get, "/external/jobs").decode(JobListResponse.self).jobs
            #expect(Set(list.map(\.id)) == ["inbox", id])
            let digests = try await api.call(.get, "/external/jobs?type=digest").decode(JobListResponse.self).jobs
            #expect(digests.map(\.id) == [id])
            #expect(digests[0].runAt == 1_900_000_000_000)
        }
    }

    @Test func aScheduleOutOfRangeIsRefusedAndTheBoundsAreDocumented() async throws {
        try await APIHarness.run { api in
            // This was accepted (201), and its first run's end took Otto down with "arithmetic overflow".
            for (body, path, bound) in [
                (#""cadenceMinutes": 9007199254740991"#, "cadenceMinutes", "5256000"),
                (#""cadenceMinutes": 5256001"#, "cadenceMinutes", "5256000"),
                (#""cadenceMinutes": 5, "runAt": 253402300800000"#, "runAt", "253402300799999"),
                (#""cadenceMinutes": 5, "runAt": -1"#, "runAt", "253402300799999"),
            ] {
                let reply = try await api.createJob(
                    #"{"id": "x", "type": "report", "scheduleType": "recurring", \#(body)}"#)
                #expect(reply.status == .badRequest, "\(body)")
                #expect(reply.error?.details?.first?.path == path)
                #expect(reply.error?.message.contains(bound) == true, "\(reply.text)")
            }
            try await api.createJob(Self.recurring)
            let patched = try await api.call(
                .patch, "/external/jobs/inbox", json: #"{"cadenceMinutes": 9007199254740991}"#)
            #expect(patched.status == .badRequest)
            #expect(try await api.job("inbox").cadenceMinutes == 60)
            let largest = try await api.createJob(
                #"{"id": "max", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5256000, "runAt": 253402300799999}"#
            )
            #expect(largest.status == .created)

            let document = try #require(try await api.call(.get, "/external/openapi.json").json)
            for schema in ["JobCreate", "JobPatch", "Job"] {
                let properties = document["components"]?["schemas"]?[schema]?["properties"]
                #expect(properties?["cadenceMinutes"]?["maximum"] == .number(5_256_000), "\(schema)")
                #expect(properties?["cadenceMinutes"]?["minimum"] == .number(1), "\(schema)")
                #expect(properties?["runAt"]?["maximum"] == .number(253_402_300_799_999), "\(schema)")
                #expect(properties?["runAt"]?["minimum"] == .number(0), "\(schema)")
            }
        }
    }

    @Test func theListingPagesWithLimitAndCursorAndRejectsABadCursor() async throws {
        try await APIHarness.run { api in
            for id in ["e", "d", "c", "b", "a"] {
                try await api.createJob(
                    #"{"id": "\#(id)", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5}"#)
            }
            let all = try await api.call(.get, "/external/jobs").decode(JobListResponse.self)
            #expect(all.nextCursor == nil)
            var seen: [String] = []
            var path = "/external/jobs?limit=2"
            while true {
                let page = try await api.call(.get, path).decode(JobListResponse.self)
                #expect(page.jobs.count <= 2)
                seen += page.jobs.map(\.id)
                guard let cursor = page.nextCursor else { break }
                path = "/external/jobs?limit=2&cursor=" + cursor
            }
            #expect(seen == all.jobs.map(\.id))
            #expect(Set(seen) == ["a", "b", "c", "d", "e"])
            let exact = try await api.call(.get, "/external/jobs?limit=5").decode(JobListResponse.self)
            #expect(exact.jobs.count == 5 && exact.nextCursor == nil)
            for query in [
                "limit=0", "limit=1001", "cursor=nope", "cursor=12-zz", "cursor=1-",
                "cursor=" + String(repeating: "1", count: 3000),
            ] {
                let reply = try await api.call(.get, "/external/jobs?\(query)")
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.error?.error == "invalid_request")
            }
        }
    }

    @Test func anEmptyOrBlankIdIsRefusedAndNoIdGetsOneChosenByOtto() async throws {
        try await APIHarness.run { api in
            for (id, message) in [("", "must not be empty"), ("   ", "must not be only white space")] {
                let reply = try await api.createJob(
                    #"{"id": "\#(id)", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5}"#)
                #expect(reply.status == .badRequest)
                #expect(reply.error?.details?.first?.path == "id")
                #expect(reply.error?.message.contains(message) == true, "\(reply.text)")
            }
            let chosen = try await api.createJob(
                #"{"type": "report", "scheduleType": "recurring", "cadenceMinutes": 5}"#)
            let id = try chosen.decode(JobMutationResponse.self).id
            #expect(id.count == 36)
            let job = try await api.job(id)
            #expect(job.status == .idle && job.createdAt == job.updatedAt && job.nextRunAt == job.runAt)
        }
    }

    @Test func percentEncodedIdsInThePathAddressTheJob() async throws {
        try await APIHarness.run { api in
            try await api.createJob(
                #"{"id": "weekly/report ü", "type": "report", "scheduleType": "oneshot", "runAt": 1900000000000}"#)
            let read = try await api.call(.get, "/external/jobs/weekly%2Freport%20%C3%BC")
            let job = try read.decode(JobResponse.self).job
            #expect(job.id == "weekly/report ü")
            let patched = try await api.call(
                .patch, "/external/jobs/weekly%2Freport%20%C3%BC", json: #"{"modelRef": "openai/gpt-5"}"#)
            #expect(patched.status == .ok)

            let broken = try await api.call(.get, "/external/jobs/weekly%2")
            #expect(broken.status == .badRequest)
            let error = try broken.decode(ErrorResponse.self)
            #expect(error.error == "invalid_request")
            #expect(error.message.contains("not valid percent-encoding: weekly%2"))
        }
    }

    @Test func modelRefIsSetShownAuditedAndInheritedAgain() async throws {
        try await APIHarness.run { api in
            try await api.createJob(Self.recurring)
            let set = try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": "openai/gpt-5"}"#)
            #expect(try set.decode(JobMutationResponse.self) == JobMutationResponse(id: "inbox", status: "updated"))
            var job = try await api.job("inbox")
            #expect(job.modelRef == "openai/gpt-5")
            #expect(job.effectiveModel == EffectiveModel(ref: "openai/gpt-5", source: .job))

            let audit = try await api.call(.get, "/external/jobs/inbox/audit").decode(TaskAuditResponse.self)
            #expect(audit.taskId == "inbox")
            #expect(audit.entries.map(\.action) == [.update, .create])
            #expect(audit.entries[0].before?["modelRef"] == .null)
            #expect(audit.entries[0].after?["modelRef"] == .string("openai/gpt-5"))
            #expect(audit.entries[0].actor == "operator")

            // With a scheduledTasks default, null means "inherit it".
            let defaults = ModelsRoutesTests.defaultsJSON(["scheduledTasks": "nano-gpt/NousResearch 2/hermes-4-405b"])
            #expect(try await api.call(.put, "/external/models/defaults", json: defaults).status == .ok)
            #expect(try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": null}"#).status == .ok)
            job = try await api.job("inbox")
            #expect(job.modelRef == nil)
            #expect(
                job.effectiveModel == EffectiveModel(ref: "nano-gpt/NousResearch 2/hermes-4-405b", source: .flowDefault)
            )
            #expect(try await api.runtime.database.job(id: "inbox")?.modelRef == nil)

            // An absent modelRef leaves it alone.
            #expect(
                try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": "openai/gpt-5"}"#).status == .ok
            )
            #expect(try await api.call(.patch, "/external/jobs/inbox", json: #"{"cadenceMinutes": 30}"#).status == .ok)
            job = try await api.job("inbox")
            #expect(job.modelRef == "openai/gpt-5")
            #expect(job.cadenceMinutes == 30)
        }
    }

    @Test func anUnknownModelIs400WithSuggestionsButTheCurrentValueMayStay() async throws {
        try await APIHarness.run { api in
            try await api.createJob(Self.recurring)
            let unknown = try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": "openai/gpt-6"}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.error?.details?.first?.path == "modelRef")
            #expect(unknown.error?.details?.first?.message.contains("closest matches: openai/") == true)
            let tenKilobytes = try await api.call(
                .patch, "/external/jobs/inbox",
                json: #"{"modelRef": "openai/\#(String(repeating: "m", count: 10_000))"}"#)
            #expect(tenKilobytes.status == .badRequest)
            #expect(tenKilobytes.error?.details?.first?.message.contains("at most 512 are allowed") == true)
            let malformed = try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": "gpt-5"}"#)
            #expect(malformed.status == .badRequest)
            #expect(malformed.error?.details?.first?.message.contains("invalid model reference \"gpt-5\"") == true)

            #expect(
                try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": "openai/gpt-5"}"#).status == .ok
            )
            api.server.standIn.setProvidersBody(Fixtures.providersBody(["anthropic": ["claude-opus-4-7"]]))
            #expect(try await api.call(.post, "/external/models/refresh").status == .ok)
            let job = try await api.job("inbox")
            #expect(
                job.effectiveModel == EffectiveModel(ref: "anthropic/claude-opus-4-7", source: .fallbackGlobalDefault))
            let same = try await api.call(
                .patch, "/external/jobs/inbox", json: #"{"modelRef": "openai/gpt-5", "cadenceMinutes": 5}"#)
            #expect(same.status == .ok, "\(same.text)")
            #expect(try await api.job("inbox").modelRef == "openai/gpt-5")
        }
    }

    @Test func invalidJobBodiesAre400WithThePath() async throws {
        try await APIHarness.run { api in
            let cases: [(String, String, String)] = [
                (#"{"scheduleType": "recurring", "cadenceMinutes": 5}"#, "type", "missing"),
                (#"{"type": "", "scheduleType": "recurring", "cadenceMinutes": 5}"#, "type", "must not be empty"),
                (#"{"type": 5, "scheduleType": "recurring", "cadenceMinutes": 5}"#, "type", "expected a string"),
                (#"{"type": "r"}"#, "scheduleType", "missing"),
                (#"{"type": "r", "scheduleType": "weekly"}"#, "scheduleType", "expected one of recurring, oneshot"),
                (#"{"type": "r", "scheduleType": "recurring"}"#, "cadenceMinutes", "needs cadenceMinutes"),
                (
                    #"{"type": "r", "scheduleType": "recurring", "cadenceMinutes": 0}"#, "cadenceMinutes",
                    "from 1 to 5256000"
                ),
                (
                    #"{"type": "r", "scheduleType": "recurring", "cadenceMinutes": 1.5}"#, "cadenceMinutes",
                    "whole number"
                ),
                (#"{"type": "r", "scheduleType": "oneshot"}"#, "runAt", "needs runAt"),
                (#"{"type": "r", "scheduleType": "oneshot", "runAt": "soon"}"#, "runAt", "whole number"),
                (
                    #"{"type": "r", "scheduleType": "oneshot", "runAt": 1, "payload": [1]}"#, "payload",
                    "expected an object"
                ),
                (#"{"type": "r", "scheduleType": "oneshot", "runAt": 1, "color": "red"}"#, "color", "unknown field"),
                (
                    #"{"type": "r", "scheduleType": "oneshot", "runAt": 1, "modelRef": "x"}"#, "modelRef",
                    "invalid model reference"
                ),
            ]
            for (body, path, text) in cases {
                let reply = try await api.createJob(body)
                #expect(reply.status == .badRequest, "\(body): \(reply.status)")
                let detail = reply.error?.details?.first { $0.path == path }
                #expect(detail?.message.contains(text) == true, "\(body): \(reply.text)")
            }
            #expect(try await api.createJob("{\"type\": ").status == .badRequest)
            #expect(try await api.services.jobs.list().isEmpty)

            try await api.createJob(Self.recurring)
            let patchCases: [(String, String)] = [
                (#"{"id": "other"}"#, "id"), (#"{"type": null}"#, "type"),
                (#"{"cadenceMinutes": "5"}"#, "cadenceMinutes"),
                (#"{"scheduleType": "oneshot", "runAt": null}"#, "runAt"), (#"{"nope": 1}"#, "nope"),
            ]
            for (body, path) in patchCases {
                let reply = try await api.call(.patch, "/external/jobs/inbox", json: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                #expect(reply.error?.details?.contains { $0.path == path } == true, "\(body): \(reply.text)")
            }
            #expect(
                try await api.call(.get, "/external/jobs/inbox/audit").decode(TaskAuditResponse.self).entries.count == 1
            )
        }
    }

    @Test func textWithQuotesAndControlCharactersRoundTrips() async throws {
        try await APIHarness.run { api in
            let created = try await api.createJob(
                #"{"id": "q\"uote\\d", "type": "re\"port été", "scheduleType": "oneshot", "runAt": 5, "profileId": "été\n\u0007x", "payload": {"prompt": "a\u0000b\n"}}"#
            )
            #expect(created.status == .created, "\(created.text)")
            let listed = try await api.call(.get, "/external/jobs").decode(JobListResponse.self).jobs
            #expect(listed.map(\.id) == ["q\"uote\\d"])
            #expect(listed.first?.type == "re\"port été")
            #expect(listed.first?.profileId == "été\n\u{07}x")
            #expect(listed.first?.payload?["prompt"] == .string("a\u{0}b\n"))
            // Ids and types are shown in terminals and logs: control characters are refused there.
            let control = try await api.createJob(
                #"{"id": "bell\u0007", "type": "re\nport", "scheduleType": "oneshot", "runAt": 5}"#)
            #expect(control.status == .badRequest)
            #expect(control.error?.details?.map(\.path) == ["id", "type"])
            let long = try await api.createJob(
                #"{"id": "\#(String(repeating: "i", count: 257))", "type": "report", "scheduleType": "oneshot", "runAt": 5}"#
            )
            #expect(long.error?.details?.first?.message.contains("at most 256") == true)
        }
    }

    @Test func duplicateIdsAre409() async throws {
        try await APIHarness.run { api in
            #expect(try await api.createJob(Self.recurring).status == .created)
            let duplicate = try await api.createJob(Self.recurring)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.error?.error == "state_conflict")
        }
    }

    @Test func systemJobsAreReadOnlyAnd403WinsOver409() async throws {
        try await APIHarness.run { api in
            for body in [
                #"{"id": "system-heartbeat", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5}"#,
                #"{"type": "heartbeat", "scheduleType": "recurring", "cadenceMinutes": 5}"#,
                #"{"type": "watchdog_failures", "scheduleType": "recurring", "cadenceMinutes": 5}"#,
            ] {
                let reply = try await api.createJob(body)
                #expect(reply.status == .forbidden, "\(body)")
                #expect(reply.error?.error == "forbidden_mutation")
            }
            let system = Job(
                id: "system-heartbeat", type: "heartbeat", scheduleType: .recurring, cadenceMinutes: 5, createdAt: 1,
                updatedAt: 1)
            #expect(try await api.services.jobs.ensureSystemJob(system))
            #expect(try await api.services.jobs.ensureSystemJob(system) == false)
            #expect(try await api.runtime.database.claimJob(id: "system-heartbeat", lockToken: "t", until: 2))
            let shown = try await api.job("system-heartbeat")
            #expect(shown.managedBy == .system)
            #expect(!shown.isMutable)
            #expect(shown.effectiveModel.source == .globalDefault)
            for (method, path, body) in [
                (HTTPRequest.Method.patch, "/external/jobs/system-heartbeat", #"{"modelRef": null}"#),
                (.delete, "/external/jobs/system-heartbeat", nil),
            ] {
                let reply = try await api.call(method, path, json: body)
                #expect(reply.status == .forbidden, "\(method) \(path)")
            }
            // Run-now is allowed on Otto's own jobs, so an operator can try them; this one is running.
            let busy = try await api.call(.post, "/external/jobs/system-heartbeat/run-now")
            #expect(busy.status == .conflict)
            let operatorJob = try await api.createJob(Self.recurring)
            #expect(operatorJob.status == .created)
            let retype = try await api.call(.patch, "/external/jobs/inbox", json: #"{"type": "heartbeat"}"#)
            #expect(retype.status == .forbidden)
        }
    }

    @Test func runningJobsCannotBeChanged() async throws {
        try await APIHarness.run { api in
            try await api.createJob(Self.recurring)
            #expect(try await api.runtime.database.claimJob(id: "inbox", lockToken: "lock-1", until: 9_999_999_999_999))
            for (method, path, body) in [
                (HTTPRequest.Method.patch, "/external/jobs/inbox", #"{"modelRef": "openai/gpt-5"}"#),
                (.delete, "/external/jobs/inbox", nil),
                (.post, "/external/jobs/inbox/run-now", nil),
            ] {
                let reply = try await api.call(method, path, json: body)
                #expect(reply.status == .conflict, "\(method) \(path)")
                #expect(reply.error?.message.contains("running") == true)
            }
            let job = try await api.job("inbox")
            #expect(job.status == .running)
            #expect(!job.isMutable)
            #expect(job.modelRef == nil)
            try await api.runtime.database.releaseJob(id: "inbox", lockToken: "lock-1")
            #expect(
                try await api.call(.patch, "/external/jobs/inbox", json: #"{"modelRef": "openai/gpt-5"}"#).status == .ok
            )
        }
    }

    @Test func deleteCancelsAndRunNowSchedules() async throws {
        try await APIHarness.run { api in
            try await api.createJob(Self.recurring)
            let runNow = try await api.call(.post, "/external/jobs/inbox/run-now").decode(JobMutationResponse.self)
            #expect(runNow.status == "run_now_scheduled")
            let scheduledFor = try #require(runNow.scheduledFor)
            #expect(try await api.job("inbox").nextRunAt == scheduledFor)

            let deleted = try await api.call(.delete, "/external/jobs/inbox").decode(JobMutationResponse.self)
            #expect(deleted == JobMutationResponse(id: "inbox", status: "deleted"))
            let job = try await api.job("inbox")
            #expect(job.terminalState == .cancelled)
            #expect(job.nextRunAt == nil)
            #expect(try await api.call(.post, "/external/jobs/inbox/run-now").status == .conflict)
            let actions = try await api.call(.get, "/external/jobs/inbox/audit").decode(TaskAuditResponse.self).entries
                .map(\.action)
            #expect(actions == [.delete, .runNow, .create])
            #expect(
                try await api.call(.get, "/external/jobs/inbox/audit?limit=1").decode(TaskAuditResponse.self).entries
                    .count == 1)
        }
    }

    @Test func unknownJobsAre404() async throws {
        try await APIHarness.run { api in
            for (method, path, body) in [
                (HTTPRequest.Method.get, "/external/jobs/ghost", nil as String?),
                (.patch, "/external/jobs/ghost", #"{"cadenceMinutes": 5}"#),
                (.delete, "/external/jobs/ghost", nil),
                (.post, "/external/jobs/ghost/run-now", nil),
                (.get, "/external/jobs/ghost/audit", nil),
                (.get, "/external/jobs/ghost/runs", nil),
                (.get, "/external/jobs/ghost/runs/r1", nil),
            ] {
                let reply = try await api.call(method, path, json: body)
                #expect(reply.status == .notFound, "\(method) \(path)")
                #expect(reply.error?.message.contains("ghost") == true)
            }
        }
    }

    @Test func runsArePagedNewestFirstAndShowTheirModel() async throws {
        try await APIHarness.run { api in
            try await api.createJob(Self.recurring)
            for index in 0..<5 {
                try await api.runtime.database.insertRun(
                    JobRun(
                        id: "run-\(index)", jobId: "inbox", scheduledFor: Int64(index), startedAt: Int64(index),
                        finishedAt: Int64(index + 1), status: .success, result: #"{"summary":"ok"}"#,
                        modelRef: "openai/gpt-5", modelSource: .job, createdAt: Int64(index)
                    )
                )
            }
            let page = try await api.call(.get, "/external/jobs/inbox/runs?limit=2&offset=1").decode(
                JobRunsResponse.self)
            #expect(page.total == 5)
            #expect(page.limit == 2 && page.offset == 1)
            #expect(page.runs.map(\.id) == ["run-3", "run-2"])
            #expect(page.runs[0].modelRef == "openai/gpt-5")
            #expect(page.runs[0].modelSource == .job)
            #expect(page.runs[0].result?.value == .object(["summary": .string("ok")]))
            let defaults = try await api.call(.get, "/external/jobs/inbox/runs").decode(JobRunsResponse.self)
            #expect(defaults.limit == 20 && defaults.offset == 0 && defaults.runs.count == 5)
            let one = try await api.call(.get, "/external/jobs/inbox/runs/run-2").decode(JobRunResponse.self)
            #expect(one.taskId == "inbox" && one.run.id == "run-2")
            for query in ["limit=0", "limit=201", "offset=-1", "offset=x"] {
                let reply = try await api.call(.get, "/external/jobs/inbox/runs?\(query)")
                #expect(reply.status == .badRequest, "\(query)")
            }
        }
    }
}
