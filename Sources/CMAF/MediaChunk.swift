import NIOCore

/// A CMAF chunk: [`styp`] [`emsg`…] `moof` + `mdat` for one track. A segment is one or more chunks; an LL-HLS part and
/// an LL-DASH chunk are the same bytes.
public enum MediaChunk {
    /// Writes a chunk. Each sample's data is copied once, into the returned buffer's `mdat`.
    ///
    /// - Parameters:
    ///   - startsSegment: writes a leading `styp`, which makes the chunk the first of a CMAF segment.
    ///   - sequenceNumber: `mfhd` sequence number, increasing by one per chunk of the track.
    ///   - baseDecodeTime: `tfdt` of the first sample, in the track timescale.
    public static func make(trackID: UInt32, sequenceNumber: UInt32, baseDecodeTime: UInt64, samples: [CMAFSample],
                            startsSegment: Bool, events: [EventMessage] = []) -> ByteBuffer {
        let payload = samples.reduce(0) { $0 + $1.data.readableBytes }
        var buffer = ByteBufferAllocator().buffer(capacity: 256 + samples.count * 16 + payload)
        if startsSegment {
            buffer.writeBox("styp") { box in
                box.writeInteger(FourCC("msdh").rawValue)
                box.writeInteger(UInt32(0))
                for brand: FourCC in ["msdh", "msix", "cmfs", "cmff", "cmf2"] { box.writeInteger(brand.rawValue) }
            }
        }
        for event in events { event.write(to: &buffer) }
        let moofStart = buffer.writerIndex
        var dataOffsetPosition = 0
        buffer.writeBox("moof") { moof in
            moof.writeFullBox("mfhd", version: 0, flags: 0) { $0.writeInteger(sequenceNumber) }
            moof.writeBox("traf") { traf in
                // default-base-is-moof: data offsets count from the start of this moof.
                traf.writeFullBox("tfhd", version: 0, flags: 0x020000) { $0.writeInteger(trackID) }
                traf.writeFullBox("tfdt", version: 1, flags: 0) { $0.writeInteger(baseDecodeTime) }
                // data-offset, sample duration, size, flags and composition time offset present.
                traf.writeFullBox("trun", version: 1, flags: 0x000F01) { trun in
                    trun.writeInteger(UInt32(samples.count))
                    dataOffsetPosition = trun.writerIndex
                    trun.writeInteger(Int32(0))
                    for sample in samples {
                        trun.writeInteger(sample.duration)
                        trun.writeInteger(UInt32(sample.data.readableBytes))
                        trun.writeInteger(sample.flags)
                        trun.writeInteger(sample.compositionOffset)
                    }
                }
            }
        }
        let mdatHeader = 8
        buffer.setInteger(Int32(buffer.writerIndex - moofStart + mdatHeader), at: dataOffsetPosition)
        buffer.writeInteger(UInt32(mdatHeader + payload))
        buffer.writeInteger(FourCC("mdat").rawValue)
        for sample in samples { buffer.writeImmutableBuffer(sample.data) }
        return buffer
    }
}
