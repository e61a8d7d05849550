import Foundation
import OttoContracts

/// The texts the heartbeat and the watchdog send to their models.
enum SystemDigests {
    static let watchdogPrompt = """
        You are Otto's watchdog. The scheduled jobs below failed since the last report. For each, say in one or two \
        sentences what most likely went wrong and what the operator should do. Start with the most urgent. Plain text.
        """

    static func time(_ milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
    }

    static func failures(_ failures: [FailedRun]) -> String {
        failures.map { failure in
            let run = failure.run
            return "- job \(run.jobId) (type \(failure.jobType)) at \(time(run.startedAt)): "
                + "\(run.errorCode ?? "failed"): \(String((run.errorMessage ?? "no message").prefix(500)))"
        }.joined(separator: "\n")
    }

    static func heartbeat(_ digest: ActivityDigest, since: Int64, now: Int64) -> String {
        var lines = ["Digest from \(time(since)) to \(time(now)):"]
        let counts = JobRun.Status.allCases.map { "\($0.rawValue) \(digest.runsByStatus[$0] ?? 0)" }
        lines.append("Runs: " + counts.joined(separator: ", "))
        if digest.failures.isEmpty {
            lines.append("Failures: none")
        } else {
            lines.append("Failures:")
            lines.append(failures(digest.failures))
        }
        if digest.upcoming.isEmpty {
            lines.append("Upcoming: none")
        } else {
            lines.append("Upcoming:")
            for job in digest.upcoming {
                lines.append("- job \(job.id) (type \(job.type)) at \(job.nextRunAt.map(time) ?? "unscheduled")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
