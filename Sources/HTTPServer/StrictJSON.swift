import Foundation

/// Request bodies of the audience and WebRTC APIs: JSON objects only, no unknown fields.
///
/// This half works on the body's bytes alone (no Hummingbird), so the fuzzers build it by itself; the half that
/// reads the request and turns a rejection into a 400 is in AudienceAuthorization.swift.
enum StrictJSON {
    enum Rejection: Error {
        case notAnObject
        /// Sorted, so the 400 names them the same way every time.
        case unknownFields([String])
        /// A JSON object of the allowed fields whose values do not fit the body type.
        case undecodable(any Error)
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, fields: Set<String>) throws(Rejection) -> T {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .notAnObject
        }
        let unknown = Set(object.keys).subtracting(fields)
        guard unknown.isEmpty else { throw .unknownFields(unknown.sorted()) }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .undecodable(error)
        }
    }
}
