import AsyncHTTPClient
import Foundation
import Logging
import OttoContracts
import ServiceLifecycle
import Synchronization

/// Runs due jobs. It sleeps until the earliest `nextRunAt` (or until woken by a change to the jobs), and looks at
/// the database at least every `tickSeconds` anyway. Each due job is claimed in one transaction under a lease that
/// the run renews while it is alive; up to `maxConcurrentRuns` run at once, so a slow one never holds up the
/// others. Claims whose lease expired (a process that died mid-run) are taken back on every pass.
public final class Scheduler: Service, Sendable {
    let database: AppDatabase
    let resolver: ModelResolver
    /// What a reload of the config file may change while Otto runs (`apply(_:)`); a run reads it once, when it
    /// starts.
    private struct Live: Sendable {
        var sender: PromptSender
        var settings: OttoConfiguration.Scheduler
        var heartbeat: OttoConfiguration.Heartbeat
        var notifier: WebhookNotifier?
        /// The Telegram chat that gets the watchdog's alerts and the heartbeat's digest, through the outbox.
        var telegramChat: Int64?
    }
    private let live: Mutex<Live>
    private let openCode: any OpenCodePrompting
    private let httpClient: HTTPClient
    var sender: PromptSender { live.withLock { $0.sender } }
    var settings: OttoConfiguration.Scheduler { live.withLock { $0.settings } }
    var heartbeat: OttoConfiguration.Heartbeat { live.withLock { $0.heartbeat } }
    var notifier: WebhookNotifier? { live.withLock { $0.notifier } }
    var telegramChat: Int64? { live.withLock { $0.telegramChat } }
    /// systemd's watchdog: `WATCHDOG=1` after every pass of the loop, which then looks at least every
    /// `watchdogInterval`; a loop that hangs stops the pings and systemd restarts Otto.
    let systemd: SystemdNotifier?
    let logger: Logger
    let now: @Sendable () -> Int64
    private let wakeup = Wakeup()
    private let state = Mutex(RunState())

    private struct RunState {
        var active = 0
        var stopping = false
        /// OpenCode sessions of runs taken back (at start-up, or after a lease expired) still to be aborted.
        var pendingAborts: [String] = []
        /// When the loop last looked at the jobs (epoch ms).
        var lastPassAt: Int64?
        /// Claims taken back since start-up.
        var recovered = 0
    }

    /// Runs in flight now, when the loop last looked at the jobs, and how many claims it took back since start-up.
    public var activity: (running: Int, lastPassAt: Int64?, recoveredLeases: Int) {
        state.withLock { ($0.active, $0.lastPassAt, $0.recovered) }
    }

    public init(
        database: AppDatabase,
        resolver: ModelResolver,
        openCode: any OpenCodePrompting,
        configuration: OttoConfiguration,
        httpClient: HTTPClient = OpenCodeClient.sharedHTTPClient,
        telegramChat: Int64? = nil,
        systemd: SystemdNotifier? = nil,
        logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    ) {
        self.database = database
        self.resolver = resolver
        self.openCode = openCode
        self.httpClient = httpClient
        self.live = Mutex(
            Self.live(
                configuration, telegramChat: telegramChat, openCode: openCode, httpClient: httpClient, logger: logger))
        self.systemd = systemd
        self.logger = logger
        self.now = now
    }

    private static func live(
        _ configuration: OttoConfiguration, telegramChat: Int64?, openCode: any OpenCodePrompting,
        httpClient: HTTPClient, logger: Logger
    ) -> Live {
        Live(
            sender: PromptSender(
                openCode: openCode, retries: configuration.scheduler.retries,
                timeout: .seconds(configuration.scheduler.runTimeoutSeconds), safety: configuration.openCode.safety,
                logger: logger),
            settings: configuration.scheduler, heartbeat: configuration.heartbeat,
            notifier: configuration.notifications.webhookURL.map {
                WebhookNotifier(url: $0, httpClient: httpClient, logger: logger)
            },
            telegramChat: telegramChat)
    }

    /// A reloaded config: scheduler limits, the heartbeat's prompt and the notifications take effect from the next
    /// pass and the next run; runs in flight finish as they started.
    public func apply(_ configuration: OttoConfiguration, telegramChat: Int64?) {
        let fresh = Self.live(
            configuration, telegramChat: telegramChat, openCode: openCode, httpClient: httpClient, logger: logger)
        live.withLock { $0 = fresh }
        wakeup.signal()
    }

    /// Look at the jobs again now: one was created, changed or made due.
    public func wake() { wakeup.signal() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                await self.loop(group: &group)
                // Runs still in flight are stopped, recorded as interrupted and rescheduled.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
            self.wakeup.signal()
        }
    }

    private var shouldStop: Bool { Task.isCancelled || state.withLock { $0.stopping } }

    private func loop(group: inout DiscardingTaskGroup) async {
        // The wall clock against the monotonic one: a difference between their steps is a jump of the wall clock.
        var lastLook: (wall: Int64, monotonic: ContinuousClock.Instant)? = nil
        while !shouldStop {
            // Read at every pass: a reload may change them.
            let settings = self.settings
            let tick = Duration.seconds(settings.tickSeconds)
            var delay = tick
            do {
                let wall = now()
                let monotonic = ContinuousClock.now
                let jumped = lastLook.map { last in
                    abs((wall - last.wall) - Self.milliseconds(monotonic - last.monotonic)) > 1_000
                }
                if jumped ?? true { try await repairClockJump(detected: jumped == true) }
                lastLook = (wall, monotonic)
                try await recoverExpiredClaims()
                state.withLock { $0.lastPassAt = wall }
                let aborts = state.withLock { state in
                    defer { state.pendingAborts = [] }
                    return state.pendingAborts
                }
                for session in aborts {
                    group.addTask { await self.abortInterrupted(session: session) }
                }
                let free = settings.maxConcurrentRuns - state.withLock { $0.active }
                if free > 0 {
                    let claimed = try await claim(limit: free)
                    for run in claimed {
                        state.withLock { $0.active += 1 }
                        group.addTask {
                            await self.execute(run)
                            self.state.withLock { $0.active -= 1 }
                            self.wakeup.signal()
                        }
                    }
                }
                // With every slot taken, the next look is when a run ends (it signals) or at the tick.
                if state.withLock({ $0.active }) < settings.maxConcurrentRuns,
                    let next = try await database.nextSchedulerEvent()
                {
                    let wait = max(0, next - now())
                    delay = min(tick, .milliseconds(wait))
                    // A lease is taken back only once it has expired: wake just after.
                    if wait > 0 { delay += .milliseconds(1) }
                }
            } catch {
                logger.error("scheduler pass failed; retrying", metadata: ["error": "\(error)"])
                delay = min(tick, .seconds(1))
            }
            if let systemd, let interval = systemd.watchdogInterval {
                systemd.notify("WATCHDOG=1")
                delay = min(delay, interval)
            }
            if delay > .zero { await wakeup.wait(timeout: delay) }
        }
    }

    // MARK: Claims and recovery

    func claim(limit: Int) async throws -> [ClaimedRun] {
        let now = now()
        let resolver = self.resolver
        let (claimed, paused) = try await database.claimDueJobs(
            now: now, limit: limit, leaseUntil: now + Int64(settings.leaseSeconds) * 1000
        ) { job in
            var run = JobRun(
                id: UUID().uuidString.lowercased(), jobId: job.id, scheduledFor: job.nextRunAt ?? now,
                startedAt: now, status: .running, createdAt: now)
            // The model is chosen when the run starts; a fallback logs the resolver's warning here.
            if let resolved = try? resolver.resolve(flow: job.flow, jobModelRef: job.modelRef) {
                run.modelRef = resolved.ref
                run.modelSource = resolved.source
            }
            return run
        }
        for job in paused {
            // The job's id only: the row's payload may be anything (the reason quotes what it can of it).
            logger.error(
                "paused a job whose stored row cannot be read; its terminalReason says which field",
                metadata: ["job": "\(String(job.id.prefix(256)))"])
        }
        return claimed
    }

    /// At start-up and after the wall clock jumped: next runs computed while the clock was ahead are pulled back
    /// onto their grid, so a clock that was wrong for a few seconds never postpones a job by days.
    func repairClockJump(detected: Bool) async throws {
        let moved = try await database.pullBackFarFutureRuns(now: now(), slack: Int64(settings.leaseSeconds) * 1000)
        if detected {
            logger.warning("the wall clock jumped; next runs were checked", metadata: ["moved": "\(moved.count)"])
        }
        for job in moved {
            logger.notice(
                "moved a next run that lay beyond one cadence back onto the job's schedule",
                metadata: ["job": "\(job.id)", "next": "\(job.nextRunAt.map(String.init) ?? "none")"])
        }
    }

    /// Takes back expired claims: the run is closed as interrupted and the job rescheduled.
    /// The OpenCode sessions of the runs it closed are aborted by the next scheduler pass.
    func recoverExpiredClaims() async throws {
        let now = now()
        guard try await database.hasExpiredClaims(now: now) else { return }
        let message = "Otto stopped or lost the run's lease while it was in progress"
        let recovered = try await database.recoverExpiredClaims(
            now: now,
            closeRun: { $0.interrupted(message, at: now) },
            recover: { job, run in
                job.interrupted(scheduledFor: run?.scheduledFor, reason: "interrupted: \(message)", at: now)
            }
        )
        for job in recovered.jobs {
            logger.warning(
                "took back an interrupted run",
                metadata: [
                    "job": "\(job.id)",
                    "next": "\(job.nextRunAt.map(String.init) ?? "none")",
                    "terminal": "\(job.terminalState?.rawValue ?? "none")",
                ])
        }
        state.withLock {
            $0.pendingAborts += recovered.sessions
            $0.recovered += recovered.jobs.count
        }
    }

    /// Asks OpenCode to stop the prompt of a run that was taken back (its process died mid-prompt): it would
    /// otherwise go on, spending tokens, for a run nobody waits for.
    func abortInterrupted(session sessionId: String) async {
        do {
            try await sender.openCode.abort(sessionId: sessionId, timeout: .seconds(10))
            logger.notice("aborted the OpenCode session of an interrupted run", metadata: ["session": "\(sessionId)"])
        } catch {
            logger.warning(
                "could not abort the OpenCode session of an interrupted run",
                metadata: ["session": "\(sessionId)", "error": "\(error.message)"])
        }
    }

    // MARK: One run

    func execute(_ claimed: ClaimedRun) async {
        let started = ContinuousClock.now
        logger.info(
            "run started",
            metadata: [
                "job": "\(claimed.job.id)", "run": "\(claimed.run.id)",
                "model": "\(claimed.run.modelRef?.description ?? "none")",
                "source": "\(claimed.run.modelSource?.rawValue ?? "none")",
            ])
        enum Event: Sendable {
            case performed(Performed)
            case leaseLost
            case leaseKeeperStopped
        }
        let performed: Performed? = await withTaskGroup(of: Event.self) { group in
            group.addTask { .performed(await self.perform(claimed)) }
            group.addTask { await self.keepLease(claimed) ? .leaseLost : .leaseKeeperStopped }
            defer { group.cancelAll() }
            while let event = await group.next() {
                switch event {
                case .performed(let performed): return performed
                case .leaseLost: return nil
                case .leaseKeeperStopped: continue
                }
            }
            return nil
        }
        guard let performed else {
            logger.error(
                "lost the lease of a running job; its result is discarded",
                metadata: ["job": "\(claimed.job.id)", "run": "\(claimed.run.id)"])
            return
        }
        let finished = await recordEnd(claimed, performed)
        switch finished {
        case .success(true):
            logger.info(
                "run finished",
                metadata: [
                    "job": "\(claimed.job.id)", "run": "\(claimed.run.id)",
                    "status": "\(performed.run.status.rawValue)",
                    "error": "\(performed.run.errorCode ?? "none")",
                    "attempts": "\(performed.run.attempts)",
                    "ms": "\(Self.milliseconds(ContinuousClock.now - started))",
                ])
        case .success(false):
            logger.error(
                "the run's lease was taken back before it finished; its result is discarded",
                metadata: ["job": "\(claimed.job.id)", "run": "\(claimed.run.id)"])
        case .failure(let error):
            logger.error(
                "could not record the end of a run; it will be taken back when its lease expires",
                metadata: ["job": "\(claimed.job.id)", "run": "\(claimed.run.id)", "error": "\(error)"])
        }
    }

    /// Records the run's end. When the write fails (a full disk), it is tried again every second for as long as
    /// the run's lease can still be renewed, so the run keeps its real outcome instead of being taken back later
    /// as interrupted; a lost lease, or Otto stopping, ends the tries.
    private func recordEnd(_ claimed: ClaimedRun, _ performed: Performed) async -> Result<Bool, any Error> {
        var tries = 0
        // The lease is at least this long from the last renewal the run's keeper made.
        var leaseHeldUntil = now() + Int64(settings.leaseSeconds) * 1000 / 3 * 2
        while true {
            let stopping = shouldStop
            let finished = await uncancelled { [self] in
                try await self.finish(claimed, performed, stopping: stopping)
            }
            tries += 1
            guard case .failure(let error) = finished, !(stopping && tries >= 3) else { return finished }
            if tries == 1 {
                logger.warning(
                    "could not record the end of a run; trying again while its lease holds",
                    metadata: ["job": "\(claimed.job.id)", "run": "\(claimed.run.id)", "error": "\(error)"])
            }
            _ = await uncancelled { try await Task.sleep(for: .seconds(1)) }
            let until = now() + Int64(settings.leaseSeconds) * 1000
            let renewed = await uncancelled { [database] in
                try await database.renewLease(jobId: claimed.job.id, lockToken: claimed.lockToken, until: until)
            }
            // A failed renewal (the same full disk) is not a lost lease yet; a lease taken back, or one that ran
            // out while renewals kept failing, is.
            switch renewed {
            case .success(true): leaseHeldUntil = until
            case .success(false): return .success(false)
            case .failure: if now() > leaseHeldUntil { return finished }
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// A run's end as it will be stored, and the failures it reported (the watchdog's).
    struct Performed: Sendable {
        var run: JobRun
        var reported: [String] = []
        /// Telegram messages to queue with the run's end.
        var notify: [TelegramOutgoing] = []
    }

    private func finish(_ claimed: ClaimedRun, _ performed: Performed, stopping: Bool) async throws -> Bool {
        let now = now()
        var run = performed.run
        run.finishedAt = now
        let after: Job
        if stopping, run.errorCode == "interrupted" {
            // Otto is stopping: the run did not fail on its own, so a one-shot runs again at the next start.
            run.errorMessage = "Otto was stopped during this run"
            var job = claimed.job.interrupted(scheduledFor: run.scheduledFor, reason: "", at: now)
            if job.scheduleType == .oneshot {
                job.terminalState = nil
                job.terminalReason = nil
                job.nextRunAt = run.scheduledFor
            }
            after = job
        } else {
            let failure = run.status == .failed ? "\(run.errorCode ?? "failed"): \(run.errorMessage ?? "")" : nil
            after = claimed.job.finished(scheduledFor: run.scheduledFor, failure: failure, at: now)
        }
        return try await database.finishRun(
            run, job: after, lockToken: claimed.lockToken, reporting: performed.reported,
            notify: run.status == .success ? performed.notify : [])
    }

    /// Renews the lease every third of its length; returns true when the lease was lost, false when cancelled.
    private func keepLease(_ claimed: ClaimedRun) async -> Bool {
        let interval = Duration.milliseconds(settings.leaseSeconds * 1000 / 3)
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return false
            }
            do {
                let until = now() + Int64(settings.leaseSeconds) * 1000
                if try await !database.renewLease(jobId: claimed.job.id, lockToken: claimed.lockToken, until: until) {
                    return true
                }
            } catch {
                if Task.isCancelled { return false }
                logger.warning(
                    "could not renew a run's lease", metadata: ["job": "\(claimed.job.id)", "error": "\(error)"])
            }
        }
    }

    private func perform(_ claimed: ClaimedRun) async -> Performed {
        // The run's own time limit bounds everything it does: the prompt and any notification after it.
        let deadline = ContinuousClock.now + .seconds(settings.runTimeoutSeconds)
        var run = claimed.run
        let job = claimed.job
        guard run.modelSource != nil else {
            let reason: String
            do {
                _ = try resolver.resolve(flow: job.flow, jobModelRef: job.modelRef, logFallback: false)
                reason = "no model was available when the run started"
            } catch {
                reason = error.message
            }
            return Performed(run: failed(run, code: "no_model", reason))
        }
        // nil: nothing chose a model and OpenCode picks one (`opencode_default`).
        let model = run.modelRef
        do {
            switch job.type {
            case "heartbeat":
                return try await runHeartbeat(job, run, model, deadline: deadline)
            case "watchdog_failures":
                return try await runWatchdog(job, run, model, deadline: deadline)
            default:
                if job.isSystemManaged {
                    return Performed(
                        run: failed(
                            run, code: "unsupported_job_type",
                            "this Otto has no runner for Otto's own job type \"\(job.type)\""))
                }
                guard let prompt = Self.prompt(of: job) else {
                    return Performed(
                        run: failed(
                            run, code: "no_prompt",
                            "job \"\(job.id)\" has no prompt: set payload.prompt to the text to send to the model, "
                                + "e.g. {\"payload\": {\"prompt\": \"Summarise my inbox\"}}"))
                }
                let agent: String?
                do {
                    agent = try sender.safety.agent(requestedByJob: Self.agent(of: job))
                } catch {
                    return Performed(run: failed(run, code: "agent_not_allowed", error.message))
                }
                let exchange = await sender.send(
                    prompt, model: model, agent: agent, session: nil, title: "otto job \(job.id)",
                    sessionStarted: recordSession(of: run))
                run = applying(exchange, to: run, flow: job.flow)
                return Performed(run: run)
            }
        } catch {
            run.status = .failed
            run.errorCode = Task.isCancelled ? "interrupted" : "internal_error"
            run.errorMessage = Task.isCancelled ? "the run was stopped" : "\(error)"
            return Performed(run: run)
        }
    }

    /// Stores a run's session id the moment it exists (a run killed later leaves it for recovery to abort).
    private func recordSession(of run: JobRun) -> @Sendable (String) async -> Void {
        { [database, logger] sessionId in
            do {
                try await database.recordSession(runId: run.id, sessionId: sessionId)
            } catch {
                logger.warning(
                    "could not record a run's OpenCode session", metadata: ["run": "\(run.id)", "error": "\(error)"])
            }
        }
    }

    /// The most of an answer a run stores: a report-sized answer whole, a runaway one cut (with a marker).
    static let maxResultTextBytes = 1024 * 1024

    /// `text`, or its first MiB (cut on a character boundary) and a line saying how long the whole answer was.
    static func cappedResultText(_ text: String) -> String {
        let count = text.utf8.count
        guard count > maxResultTextBytes else { return text }
        let marker = "\n[… cut at 1 MiB: the full answer was \(count) bytes]"
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: maxResultTextBytes - marker.utf8.count)
        // Back to the start of a UTF-8 sequence (a continuation byte is 10xxxxxx).
        while end > text.startIndex && text.utf8[end] & 0xC0 == 0x80 { end = text.utf8.index(before: end) }
        return String(text[..<end]) + marker
    }

    /// `payload.agent`, if the job names one (a name that is not a string names an agent nobody allows).
    static func agent(of job: Job) -> String? {
        switch job.payload?["agent"] {
        case nil, .null?: nil
        case .string(let name)?: name
        case let other?: "\(other)"
        }
    }

    /// `payload.prompt`, if it is a non-empty string.
    static func prompt(of job: Job) -> String? {
        guard case .string(let text)? = job.payload?["prompt"],
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { return nil }
        return text
    }

    private func failed(_ run: JobRun, code: String, _ message: String) -> JobRun {
        var run = run
        run.status = .failed
        run.errorCode = code
        run.errorMessage = message
        return run
    }

    private func applying(
        _ exchange: PromptExchange, to run: JobRun, flow: RuntimeModelFlow, extra: [String: JSONValue] = [:]
    ) -> JobRun {
        var run = run
        run.sessionId = exchange.sessionId
        run.attempts = exchange.attempts
        switch exchange.answer {
        case .success(let answer):
            run.status = .success
            run.answeredBy = answer.answeredBy
            var result = extra
            let kept = Self.cappedResultText(answer.text)
            result["text"] = .string(kept)
            if kept.utf8.count != answer.text.utf8.count {
                result["fullTextBytes"] = .number(Double(answer.text.utf8.count))
            }
            if !answer.refused.isEmpty {
                result["refused"] = .array(
                    answer.refused.map { .object(["kind": .string($0.kind.rawValue), "what": .string($0.what)]) })
                logger.notice(
                    "refused OpenCode's requests during a run: Otto runs unattended",
                    metadata: ["run": "\(run.id)", "refused": "\(answer.refused.count)"])
            }
            run.result = JSONText(.object(result))
            if let requested = run.modelRef, let answeredBy = answer.answeredBy, answeredBy != requested {
                logger.warning(
                    "OpenCode answered with another model than the one Otto asked for",
                    metadata: [
                        "flow": "\(flow)", "run": "\(run.id)", "requested": "\(requested)",
                        "answeredBy": "\(answeredBy)",
                    ])
            }
        case .failure(let failure):
            run = failed(run, code: failure.code, failure.message)
        }
        return run
    }

    // MARK: Heartbeat and watchdog

    private func runHeartbeat(_ job: Job, _ run: JobRun, _ model: ModelRef?, deadline: ContinuousClock.Instant)
        async throws -> Performed
    {
        let since = job.lastRunAt ?? job.createdAt
        let digest = try await database.activity(
            since: since, excludingJob: job.id, failureLimit: 20, upcomingLimit: 10)
        let text = heartbeat.prompt + "\n\n" + SystemDigests.heartbeat(digest, since: since, now: now())
        let exchange = await sender.send(
            text, model: model, session: nil, title: "otto job \(job.id)", sessionStarted: recordSession(of: run))
        var extra: [String: JSONValue] = [:]
        var notify: [TelegramOutgoing] = []
        if case .success(let reply) = exchange.answer {
            if let notifier {
                extra["notification"] = await deliver(
                    notifier, kind: "heartbeat", job, run, reply.text, deadline: deadline)
            }
            notify = telegram("heartbeat", run, reply.text)
            if !notify.isEmpty { extra["telegram"] = .object(["queued": .number(Double(notify.count))]) }
        }
        return Performed(run: applying(exchange, to: run, flow: job.flow, extra: extra), notify: notify)
    }

    private func runWatchdog(_ job: Job, _ run: JobRun, _ model: ModelRef?, deadline: ContinuousClock.Instant)
        async throws -> Performed
    {
        let failures = try await database.unreportedFailures(limit: 50)
        guard !failures.isEmpty else {
            var run = run
            run.status = .skipped
            run.modelRef = nil
            run.modelSource = nil
            return Performed(run: run)
        }
        let text = SystemDigests.watchdogPrompt + "\n\n" + SystemDigests.failures(failures)
        let exchange = await sender.send(
            text, model: model, session: nil, title: "otto job \(job.id)", sessionStarted: recordSession(of: run))
        guard case .success(let reply) = exchange.answer else {
            return Performed(run: applying(exchange, to: run, flow: job.flow))
        }
        var extra: [String: JSONValue] = ["failures": .array(failures.map { .string($0.run.id) })]
        if let notifier {
            extra["notification"] = await deliver(notifier, kind: "watchdog", job, run, reply.text, deadline: deadline)
        }
        let notify = telegram("watchdog", run, reply.text)
        if !notify.isEmpty { extra["telegram"] = .object(["queued": .number(Double(notify.count))]) }
        return Performed(
            run: applying(exchange, to: run, flow: job.flow, extra: extra), reported: failures.map(\.run.id),
            notify: notify)
    }

    /// The run's message for the Telegram chat, split to Telegram's size, each part keyed by the run so that it is
    /// queued once however often the run's end is written.
    private func telegram(_ kind: String, _ run: JobRun, _ text: String) -> [TelegramOutgoing] {
        guard let telegramChat else { return [] }
        let title = kind == "watchdog" ? "Otto watchdog: failed jobs" : "Otto heartbeat"
        return TelegramText.split(title + "\n\n" + text).enumerated().map { index, part in
            TelegramOutgoing(dedupeKey: "run:\(run.id):\(index)", chatId: telegramChat, text: part, kind: kind)
        }
    }

    private func deliver(
        _ notifier: WebhookNotifier, kind: String, _ job: Job, _ run: JobRun, _ text: String,
        deadline: ContinuousClock.Instant
    ) async -> JSONValue {
        let delivery = await notifier.deliver(
            .init(kind: kind, jobId: job.id, runId: run.id, text: text, createdAt: now()),
            within: deadline - ContinuousClock.now)
        var note: [String: JSONValue] = [
            "delivered": .bool(delivery.delivered), "attempts": .number(Double(delivery.attempts)),
        ]
        if let error = delivery.error { note["error"] = .string(error) }
        return .object(note)
    }
}

/// Runs `work` in a task of its own, so that it completes even when the calling task is being cancelled (GRDB's
/// async accessors refuse to start in a cancelled task, and the end of a run must still be recorded).
func uncancelled<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
    await Task {
        do {
            return .success(try await work())
        } catch {
            return .failure(error)
        }
    }.value
}
