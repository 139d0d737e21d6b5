/// What a publisher declares about its stream in `@setDataFrame("onMetaData", {...})`. Declarations, not facts:
/// the codec configurations are authoritative for size, the frame timestamps for rate.
public struct RTMPStreamMetadata: Sendable, Equatable {
    public var width: Double?
    public var height: Double?
    public var frameRate: Double?
    /// FLV codec id as a number ("7") or an Enhanced RTMP FourCC ("hvc1").
    public var videoCodec: String?
    public var audioCodec: String?
    public var encoder: String?

    public init(width: Double? = nil, height: Double? = nil, frameRate: Double? = nil, videoCodec: String? = nil,
                audioCodec: String? = nil, encoder: String? = nil) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
        self.encoder = encoder
    }

    /// Reads the metadata from the values of a data message; nil when the message is not `onMetaData`.
    public init?(dataMessage values: [AMF0Value]) {
        var remaining = values[...]
        if remaining.first?.stringValue == "@setDataFrame" { remaining = remaining.dropFirst() }
        guard remaining.first?.stringValue == "onMetaData" else { return nil }
        guard let table = remaining.dropFirst().first(where: { $0.properties != nil }) else {
            self.init()
            return
        }
        func number(_ key: String) -> Double? {
            guard let value = table[key]?.numberValue, value.isFinite, value > 0 else { return nil }
            return value
        }
        func codec(_ key: String) -> String? {
            switch table[key] {
            case .number(let id) where id.isFinite && id >= 0 && id < 4_294_967_296: return String(Int(id))
            case .string(let name): return name
            default: return nil
            }
        }
        self.init(width: number("width"), height: number("height"), frameRate: number("framerate") ?? number("videoframerate"),
                  videoCodec: codec("videocodecid"), audioCodec: codec("audiocodecid"), encoder: table["encoder"]?.stringValue)
    }
}
