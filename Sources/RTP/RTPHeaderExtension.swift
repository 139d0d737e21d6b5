/// One RFC 8285 header extension element: the negotiated ID (from SDP `a=extmap`) and its data.
public struct RTPHeaderExtension: Sendable, Hashable {
    public let id: UInt8
    public let data: [UInt8]

    /// `nil` for ID 0 (padding, never an element) or data longer than the two-byte form allows.
    public init?(id: UInt8, data: [UInt8]) {
        guard id != 0, data.count <= 255 else { return nil }
        self.id = id
        self.data = data
    }

    /// The one-byte form holds IDs 1...14 with 1...16 bytes; anything else needs the two-byte form.
    var fitsOneByteForm: Bool { (1...14).contains(id) && (1...16).contains(data.count) }
}
