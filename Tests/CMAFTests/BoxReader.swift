import NIOCore

/// Reads ISO-BMFF back for the tests: a box tree with each box's payload.
struct Box {
    var type: String
    var payload: ByteBuffer
    /// Offset of the box's first byte in the buffer it was read from.
    var offset: Int

    static let containers: Set<String> = ["moov", "trak", "mdia", "minf", "stbl", "dinf", "mvex", "moof", "traf"]

    static func read(_ buffer: ByteBuffer) -> [Box] {
        var buffer = buffer
        var boxes: [Box] = []
        let base = buffer.readerIndex
        while buffer.readableBytes >= 8 {
            let offset = buffer.readerIndex - base
            let size = Int(buffer.readInteger(as: UInt32.self)!)
            let type = String(decoding: buffer.readBytes(length: 4)!, as: UTF8.self)
            guard size >= 8, let payload = buffer.readSlice(length: size - 8) else { break }
            boxes.append(Box(type: type, payload: payload, offset: offset))
        }
        return boxes
    }

    var children: [Box] { Box.read(payload) }

    /// The first box at `path` (e.g. `moov/trak/mdia/mdhd`) under `boxes`.
    static func find(_ path: String, in boxes: [Box]) -> Box? {
        var level = boxes
        var found: Box?
        for name in path.split(separator: "/") {
            guard let box = level.first(where: { $0.type == name }) else { return nil }
            found = box
            level = box.children
        }
        return found
    }
}
