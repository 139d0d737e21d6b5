import NIOCore

/// The CMAF header of one track: `ftyp` + `moov` with an empty sample table and `mvex`/`trex` (ISO/IEC 23000-19 §7.3).
public enum InitSegment {
    public static func make(_ track: CMAFTrack) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 1024)
        buffer.writeBox("ftyp") { box in
            box.writeInteger(FourCC("cmf2").rawValue)
            box.writeInteger(UInt32(0))
            for brand: FourCC in ["cmfc", "cmf2", "iso6", "isom", "mp41", "dash"] { box.writeInteger(brand.rawValue) }
        }
        buffer.writeBox("moov") { moov in
            writeMovieHeader(&moov, track)
            moov.writeBox("trak") { trak in
                writeTrackHeader(&trak, track)
                trak.writeBox("mdia") { mdia in
                    mdia.writeFullBox("mdhd", version: 0, flags: 0) { box in
                        box.writeInteger(UInt32(0)); box.writeInteger(UInt32(0))    // creation, modification
                        box.writeInteger(track.timescale)
                        box.writeInteger(UInt32(0))                                // duration: fragmented
                        box.writeInteger(UInt16(0x55C4))                           // language "und"
                        box.writeInteger(UInt16(0))
                    }
                    mdia.writeFullBox("hdlr", version: 0, flags: 0) { box in
                        box.writeInteger(UInt32(0))
                        box.writeInteger(track.kind == .video ? FourCC("vide").rawValue : FourCC("soun").rawValue)
                        box.writeZeros(12)
                        box.writeString(track.kind == .video ? "LiveRelay video" : "LiveRelay audio")
                        box.writeInteger(UInt8(0))
                    }
                    mdia.writeBox("minf") { minf in
                        if track.kind == .video {
                            minf.writeFullBox("vmhd", version: 0, flags: 1) { $0.writeZeros(8) }
                        } else {
                            minf.writeFullBox("smhd", version: 0, flags: 0) { $0.writeZeros(4) }
                        }
                        minf.writeBox("dinf") { dinf in
                            dinf.writeFullBox("dref", version: 0, flags: 0) { dref in
                                dref.writeInteger(UInt32(1))
                                dref.writeFullBox("url ", version: 0, flags: 1) { _ in }  // self-contained
                            }
                        }
                        writeSampleTable(&minf, track)
                    }
                }
            }
            moov.writeBox("mvex") { mvex in
                mvex.writeFullBox("trex", version: 0, flags: 0) { box in
                    box.writeInteger(track.trackID)
                    box.writeInteger(UInt32(1))       // sample description index
                    box.writeInteger(UInt32(0))       // default duration, size, flags: every trun says its own
                    box.writeInteger(UInt32(0))
                    box.writeInteger(UInt32(0))
                }
            }
        }
        return buffer
    }

    static let unityMatrix: [UInt32] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]

    private static func writeMovieHeader(_ moov: inout ByteBuffer, _ track: CMAFTrack) {
        moov.writeFullBox("mvhd", version: 0, flags: 0) { box in
            box.writeInteger(UInt32(0)); box.writeInteger(UInt32(0))
            box.writeInteger(UInt32(1000))                  // movie timescale
            box.writeInteger(UInt32(0))                     // duration: fragmented
            box.writeInteger(UInt32(0x0001_0000))           // rate 1.0
            box.writeInteger(UInt16(0x0100))                // volume 1.0
            box.writeZeros(10)
            for value in unityMatrix { box.writeInteger(value) }
            box.writeZeros(24)                              // pre_defined
            box.writeInteger(track.trackID + 1)             // next track ID
        }
    }

    private static func writeTrackHeader(_ trak: inout ByteBuffer, _ track: CMAFTrack) {
        trak.writeFullBox("tkhd", version: 0, flags: 0x000003) { box in  // enabled, in movie
            box.writeInteger(UInt32(0)); box.writeInteger(UInt32(0))
            box.writeInteger(track.trackID)
            box.writeInteger(UInt32(0))
            box.writeInteger(UInt32(0))                     // duration
            box.writeZeros(8)
            box.writeInteger(UInt16(0))                     // layer
            box.writeInteger(UInt16(0))                     // alternate group
            box.writeInteger(UInt16(track.kind == .audio ? 0x0100 : 0))
            box.writeInteger(UInt16(0))
            for value in unityMatrix { box.writeInteger(value) }
            if case .avc(let width, let height, _) = track.codec {
                box.writeInteger(UInt32(width) << 16)
                box.writeInteger(UInt32(height) << 16)
            } else {
                box.writeInteger(UInt32(0)); box.writeInteger(UInt32(0))
            }
        }
    }

    private static func writeSampleTable(_ minf: inout ByteBuffer, _ track: CMAFTrack) {
        minf.writeBox("stbl") { stbl in
            stbl.writeFullBox("stsd", version: 0, flags: 0) { stsd in
                stsd.writeInteger(UInt32(1))
                switch track.codec {
                case .avc(let width, let height, let configuration):
                    writeVisualSampleEntry(&stsd, width: width, height: height, avcC: configuration)
                case .aac(let sampleRate, let channels, let asc):
                    writeAudioSampleEntry(&stsd, sampleRate: sampleRate, channels: channels, asc: asc)
                }
            }
            // Empty tables: the samples live in the fragments.
            stbl.writeFullBox("stts", version: 0, flags: 0) { $0.writeInteger(UInt32(0)) }
            stbl.writeFullBox("stsc", version: 0, flags: 0) { $0.writeInteger(UInt32(0)) }
            stbl.writeFullBox("stsz", version: 0, flags: 0) { $0.writeInteger(UInt32(0)); $0.writeInteger(UInt32(0)) }
            stbl.writeFullBox("stco", version: 0, flags: 0) { $0.writeInteger(UInt32(0)) }
        }
    }

    private static func writeVisualSampleEntry(_ stsd: inout ByteBuffer, width: Int, height: Int, avcC: ByteBuffer) {
        stsd.writeBox("avc1") { entry in
            entry.writeZeros(6)
            entry.writeInteger(UInt16(1))                   // data reference index
            entry.writeZeros(16)                            // pre_defined, reserved
            entry.writeInteger(UInt16(clamping: width))
            entry.writeInteger(UInt16(clamping: height))
            entry.writeInteger(UInt32(0x0048_0000))         // 72 dpi
            entry.writeInteger(UInt32(0x0048_0000))
            entry.writeInteger(UInt32(0))
            entry.writeInteger(UInt16(1))                   // frame count
            entry.writeZeros(32)                            // compressor name
            entry.writeInteger(UInt16(0x0018))              // depth
            entry.writeInteger(Int16(-1))
            entry.writeBox("avcC") { $0.writeImmutableBuffer(avcC) }
        }
    }

    private static func writeAudioSampleEntry(_ stsd: inout ByteBuffer, sampleRate: Int, channels: Int, asc: ByteBuffer) {
        stsd.writeBox("mp4a") { entry in
            entry.writeZeros(6)
            entry.writeInteger(UInt16(1))
            entry.writeZeros(8)
            entry.writeInteger(UInt16(clamping: channels))
            entry.writeInteger(UInt16(16))                  // sample size
            entry.writeZeros(4)
            entry.writeInteger(UInt32(min(sampleRate, 65535)) << 16)
            entry.writeFullBox("esds", version: 0, flags: 0) { esds in
                writeElementaryStreamDescriptor(&esds, asc: asc)
            }
        }
    }

    /// ES_Descriptor (ISO/IEC 14496-1 §7.2.6.5) holding a DecoderConfigDescriptor for AAC and the AudioSpecificConfig.
    static func writeElementaryStreamDescriptor(_ esds: inout ByteBuffer, asc: ByteBuffer) {
        let ascLength = asc.readableBytes
        let decoderSpecificLength = 2 + ascLength
        let decoderConfigLength = 13 + decoderSpecificLength
        let slConfigLength = 3
        let esLength = 3 + (2 + decoderConfigLength) + slConfigLength
        esds.writeInteger(UInt8(0x03)); esds.writeInteger(UInt8(esLength))
        esds.writeInteger(UInt16(0))                        // ES_ID
        esds.writeInteger(UInt8(0))                         // flags
        esds.writeInteger(UInt8(0x04)); esds.writeInteger(UInt8(decoderConfigLength))
        esds.writeInteger(UInt8(0x40))                      // objectTypeIndication: MPEG-4 Audio
        esds.writeInteger(UInt8(0x15))                      // streamType audio (5) << 2 | upstream 0 | reserved 1
        esds.writeZeros(3)                                  // bufferSizeDB
        esds.writeInteger(UInt32(0))                        // maxBitrate
        esds.writeInteger(UInt32(0))                        // avgBitrate
        esds.writeInteger(UInt8(0x05)); esds.writeInteger(UInt8(ascLength))
        esds.writeImmutableBuffer(asc)
        esds.writeInteger(UInt8(0x06)); esds.writeInteger(UInt8(1)); esds.writeInteger(UInt8(0x02))
    }
}
