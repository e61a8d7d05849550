import Hummingbird
import NIOCore
import OttoContracts

/// Every JSON body the API writes goes through here, encoded by `CompactJSONEncoder`.
enum JSONResponse {
    static let contentType = "application/json; charset=utf-8"

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws
        -> Response
    {
        bytes(try buffer(value), status: status, headers: headers)
    }

    static func buffer(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try CompactJSONEncoder().encode(value))
    }

    static func bytes(_ buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
    }
}

/// A JSON body written while it is encoded, in chunks of 64 KiB. Each write waits while the client does not read,
/// so a client that stops reading holds the socket's buffer, one chunk and the value being written (one job, one
/// run), never a whole listing.
struct StreamedJSON {
    static let chunkBytes = 64 * 1024
    private let encoder = CompactJSONEncoder()
    private var bytes: [UInt8] = []

    init(_ opening: String) { bytes.append(contentsOf: opening.utf8) }

    /// Appends JSON punctuation or a literal key, as written.
    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Appends `value`'s encoding and writes the chunk out once it is full.
    mutating func value(_ value: some Encodable, to writer: inout any ResponseBodyWriter) async throws {
        try encoder.encode(value, appendingTo: &bytes)
        if bytes.count >= Self.chunkBytes { try await flush(to: &writer) }
    }

    /// Writes out what has been encoded so far, in slices of `chunkBytes`: one large value (a job with a 1 MiB
    /// prompt) is not copied whole into a buffer that waits for a client that does not read.
    mutating func flush(to writer: inout any ResponseBodyWriter) async throws {
        var start = 0
        while start < bytes.count {
            let end = min(start + Self.chunkBytes, bytes.count)
            try await writer.write(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        // A large value's capacity is given back; a chunk-sized one is kept for the next values.
        bytes.removeAll(keepingCapacity: bytes.count <= 2 * Self.chunkBytes)
    }

    /// Writes the rest and ends the body.
    mutating func finish(_ closing: String, to writer: inout any ResponseBodyWriter) async throws {
        raw(closing)
        try await flush(to: &writer)
        try await writer.finish(nil)
    }
}
