import Testing
@testable import Codecs

@Suite struct H264AnnexBTests {
    @Test func convertsStartCodesOfBothLengthsToFourByteLengths() {
        let stream: [UInt8] = [0, 0, 0, 1, 0x67, 0xAA, 0xBB, 0, 0, 1, 0x68, 0xCC, 0, 0, 0, 1, 0x65, 0x01, 0x02, 0x03]
        #expect(H264AnnexB.lengthPrefixed(stream) == [0, 0, 0, 3, 0x67, 0xAA, 0xBB,
                                                      0, 0, 0, 2, 0x68, 0xCC,
                                                      0, 0, 0, 4, 0x65, 0x01, 0x02, 0x03])
        #expect(H264AnnexB.nalUnits(stream).map { H264AnnexB.type(of: $0) } == [7, 8, 5])
    }

    @Test func roundTripsAVCCThroughAnnexB() {
        let avcc: [UInt8] = [0, 0, 0, 2, 0x09, 0xF0, 0, 0, 0, 5, 0x41, 0x9A, 0x00, 0x03, 0x01]
        let annexB = H264AnnexB.annexB(lengthPrefixed: avcc)
        #expect(annexB == [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x41, 0x9A, 0x00, 0x03, 0x01])
        #expect(annexB.map(H264AnnexB.lengthPrefixed) == avcc)
    }

    @Test func rejectsLengthsPastTheEnd() {
        #expect(H264AnnexB.annexB(lengthPrefixed: [0, 0, 0, 9, 0x65]) == nil)
        #expect(H264AnnexB.nalUnits(lengthPrefixed: [0, 0]) == nil)
    }

    @Test func dropsTrailingZerosAndLeadingGarbage() {
        #expect(H264AnnexB.lengthPrefixed([0xFF, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 0, 1, 0x0C]) == [0, 0, 0, 2, 0x09, 0x10,
                                                                                             0, 0, 0, 1, 0x0C])
    }
}
