@testable import HTTPServer
import NIOCore
import Packager
import Testing

@Suite("DASH/HLS response helpers")
struct StreamingResponseTests {
    /// The manifest ETag: the first 12 bytes of the SHA-1 of the body (over all its buffers), as quoted lowercase hex.
    /// SHA-1("abc") is FIPS 180's first example, a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d.
    @Test func etagIsTheQuotedHexOfTheBodysDigest() {
        #expect(RenderedManifest.etag([ByteBuffer(string: "abc")]) == "\"a9993e364706816aba3e2571\"")
        #expect(RenderedManifest.etag([ByteBuffer(string: "a"), ByteBuffer(string: "bc")]) == "\"a9993e364706816aba3e2571\"")
        #expect(RenderedManifest.etag([ByteBuffer(string: "abd")]) != "\"a9993e364706816aba3e2571\"")
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

    /// The fast path's `Date` header, against Python's `email.utils.formatdate(t, usegmt=True)`.
    @Test func httpDatesAreIMFFixdate() {
        #expect(HTTPDateCache.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateCache.format(epochSeconds: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDateCache.format(epochSeconds: 1_764_661_847) == "Tue, 02 Dec 2025 07:50:47 GMT")
        #expect(HTTPDateCache.format(epochSeconds: 4_107_542_399) == "Sun, 28 Feb 2100 23:59:59 GMT")
        #expect(HTTPDateCache.format(epochSeconds: -86_400) == "Wed, 31 Dec 1969 00:00:00 GMT")
    }
}
