@testable import HTTPServer
import NIOCore
import Testing

@Suite("DASH/HLS response helpers")
struct StreamingResponseTests {
    /// The manifest ETag: the first 12 bytes of the SHA-1 of the body (over all its buffers), as quoted lowercase hex.
    /// SHA-1("abc") is FIPS 180's first example, a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d.
    @Test func etagIsTheQuotedHexOfTheBodysDigest() {
        #expect(StreamingRoutes.etag([ByteBuffer(string: "abc")]) == "\"a9993e364706816aba3e2571\"")
        #expect(StreamingRoutes.etag([ByteBuffer(string: "a"), ByteBuffer(string: "bc")]) == "\"a9993e364706816aba3e2571\"")
        #expect(StreamingRoutes.etag([ByteBuffer(string: "abd")]) != "\"a9993e364706816aba3e2571\"")
    }

    @Test func singleByteRanges() {
        #expect(ByteRange.parse("bytes=0-99", length: 1000) == 0..<100)
        #expect(ByteRange.parse("bytes=-100", length: 1000) == 900..<1000)
        #expect(ByteRange.parse("bytes=990-", length: 1000) == 990..<1000)
        #expect(ByteRange.parse("bytes=990-5000", length: 1000) == 990..<1000)
        #expect(ByteRange.parse("bytes=1000-", length: 1000) == nil)
        #expect(ByteRange.parse("bytes=0-1,5-9", length: 1000) == nil)
        #expect(ByteRange.parse("items=0-1", length: 1000) == nil)
    }
}
