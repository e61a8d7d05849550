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
