import Hummingbird
import NIOCore
import OttoContracts
import OttoCore

/// Writes jobs as JSON straight into a buffer. A listing of 10,000 jobs through JSONEncoder (and a JSON decode
/// of every payload to re-encode it) took about 280 ms; the payload is stored as validated JSON text, so it is
/// copied verbatim here. The shape is `JobBody`'s, and the OpenAPI test validates it.
enum JobJSONWriter {
    /// `{"jobs": [...]}`, streamed page by page as the service hands the pages over, so listing 10,000 jobs
    /// never holds the whole body (about 6 MB) in memory.
    static func list(_ jobs: JobsService, type: String?) -> ResponseBody {
        ResponseBody { writer in
            var buffer = ByteBuffer()
            buffer.writeStaticString("{\"jobs\":[")
            var first = true
            try await jobs.list(type: type) { page in
                for view in page {
                    if !first { buffer.writeStaticString(",") }
                    first = false
                    write(view, into: &buffer)
                }
                try await writer.write(buffer)
                buffer.clear()
            }
            buffer.writeStaticString("]}")
            try await writer.write(buffer)
            try await writer.finish(nil)
        }
    }

    static func single(_ view: JobView) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString("{\"job\":")
        write(view, into: &buffer)
        buffer.writeStaticString("}")
        return buffer
    }

    static func write(_ view: JobView, into buffer: inout ByteBuffer) {
        let job = view.job
        buffer.writeStaticString("{\"id\":")
        string(job.id, &buffer)
        buffer.writeStaticString(",\"type\":")
        string(job.type, &buffer)
        buffer.writeStaticString(",\"status\":\"")
        buffer.writeString(job.status.rawValue)
        buffer.writeStaticString("\",\"scheduleType\":\"")
        buffer.writeString(job.scheduleType.rawValue)
        buffer.writeStaticString("\",\"profileId\":")
        optionalString(job.profileId, &buffer)
        buffer.writeStaticString(",\"modelRef\":")
        optionalString(job.modelRef, &buffer)
        buffer.writeStaticString(",\"runAt\":")
        optionalInteger(job.runAt, &buffer)
        buffer.writeStaticString(",\"cadenceMinutes\":")
        optionalInteger(job.cadenceMinutes.map(Int64.init), &buffer)
        buffer.writeStaticString(",\"payload\":")
        if let payload = job.payload { buffer.writeString(payload) } else { buffer.writeStaticString("null") }
        buffer.writeStaticString(",\"lastRunAt\":")
        optionalInteger(job.lastRunAt, &buffer)
        buffer.writeStaticString(",\"nextRunAt\":")
        optionalInteger(job.nextRunAt, &buffer)
        buffer.writeStaticString(",\"terminalState\":")
        optionalString(job.terminalState?.rawValue, &buffer)
        buffer.writeStaticString(",\"terminalReason\":")
        optionalString(job.terminalReason, &buffer)
        buffer.writeStaticString(",\"createdAt\":")
        buffer.writeString(String(job.createdAt))
        buffer.writeStaticString(",\"updatedAt\":")
        buffer.writeString(String(job.updatedAt))
        buffer.writeStaticString(view.isSystemManaged ? ",\"managedBy\":\"system\"" : ",\"managedBy\":\"operator\"")
        buffer.writeStaticString(
            !view.isSystemManaged && job.status != .running ? ",\"isMutable\":true" : ",\"isMutable\":false"
        )
        buffer.writeStaticString(",\"effectiveModel\":{\"ref\":")
        optionalString(view.effectiveModel.ref, &buffer)
        buffer.writeStaticString(",\"source\":\"")
        buffer.writeString(view.effectiveModel.source.rawValue)
        buffer.writeStaticString("\"}}")
    }

    static func optionalInteger(_ value: Int64?, _ buffer: inout ByteBuffer) {
        if let value { buffer.writeString(String(value)) } else { buffer.writeStaticString("null") }
    }

    static func optionalString(_ value: String?, _ buffer: inout ByteBuffer) {
        if let value { string(value, &buffer) } else { buffer.writeStaticString("null") }
    }

    /// A JSON string literal; most values need no escaping and are copied as they are.
    static func string(_ value: String, _ buffer: inout ByteBuffer) {
        if value.utf8.contains(where: {
            $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\")
        }) {
            buffer.writeString(jsonQuoted(value))
        } else {
            buffer.writeStaticString("\"")
            buffer.writeString(value)
            buffer.writeStaticString("\"")
        }
    }
}
