import Glibc
import NIOCore
import SRTP
@testable import DatagramIO
import XCTest

/// The media batch on real sockets: protected datagrams arrive whole and in order across several sendmmsg calls,
/// a datagram the kernel refuses is skipped and counted without losing the others, and oversized input is refused.
final class DatagramBatchTests: XCTestCase {
    private let key = [UInt8](repeating: 0x42, count: 16)
    private let salt = [UInt8](repeating: 0x17, count: 12)

    private func udpSocket() throws -> (descriptor: CInt, address: SocketAddress) {
        let descriptor = try MediaSocket.bind(host: "127.0.0.1", port: 0)
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, try SocketAddress(ipAddress: "127.0.0.1", port: Int(UInt16(bigEndian: storage.sin_port))))
    }

    private func packet(_ sequence: UInt16, payload: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes([0x80, 96])
        buffer.writeInteger(sequence)
        buffer.writeInteger(UInt32(sequence) * 3000)
        buffer.writeInteger(UInt32(0xABCD))
        buffer.writeBytes((0..<payload).map { UInt8(truncatingIfNeeded: $0 &+ Int(sequence)) })
        return buffer
    }

    /// Everything waiting on `descriptor` (non-blocking).
    private func receiveAll(_ descriptor: CInt) -> [[UInt8]] {
        var datagrams: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, CInt(MSG_DONTWAIT)) }
            guard received > 0 else { return datagrams }
            datagrams.append(Array(buffer[..<received]))
        }
    }

    func testDatagramsArriveProtectedWholeAndInOrderOverSeveralCalls() throws {
        try sendManyToOneViewer(segmentation: true)
        try sendManyToOneViewer(segmentation: false)
    }

    private func sendManyToOneViewer(segmentation: Bool) throws {
        let sender = try udpSocket()
        let receiver = try udpSocket()
        defer {
            close(sender.descriptor)
            close(receiver.descriptor)
        }
        let outbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .outbound)
        let inbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .inbound)
        let batch = DatagramBatch(slotSize: 1500, segmentation: segmentation)
        batch.descriptor = sender.descriptor
        let address = DatagramAddress(receiver.address)
        let count = DatagramBatch.capacity * 2 + 7  // fills the batch twice: two sendmmsg calls on the way
        for sequence in 0..<count {
            XCTAssertEqual(batch.append(packet(UInt16(sequence), payload: 1100), protectedBy: outbound, to: address), 12 + 1100 + 16)
        }
        XCTAssertEqual(batch.count, 7)
        batch.flush()
        XCTAssertEqual(batch.count, 0)
        let totals = batch.takeTotals()
        XCTAssertEqual(totals.sent, count)
        XCTAssertEqual(totals.failed + totals.droppedFull, 0)

        let datagrams = receiveAll(receiver.descriptor)
        XCTAssertEqual(datagrams.count, count, "segmentation \(segmentation)")
        XCTAssertEqual(batch.segmentation, segmentation, "loopback takes GSO")
        for (sequence, datagram) in datagrams.enumerated() {
            var buffer = ByteBuffer(bytes: datagram)
            try inbound.unprotect(&buffer)
            XCTAssertEqual(buffer, packet(UInt16(sequence), payload: 1100))
        }
    }

    /// Runs to one address become GSO messages, cut back into the same datagrams: a frame's full-size packets and
    /// its shorter last one to A, one to B, two more to A.
    func testRunsToOneViewerArriveAsTheSameDatagrams() throws {
        let sender = try udpSocket()
        let first = try udpSocket()
        let second = try udpSocket()
        defer {
            close(sender.descriptor)
            close(first.descriptor)
            close(second.descriptor)
        }
        let outbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .outbound)
        let inbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .inbound)
        let batch = DatagramBatch(slotSize: 1500)
        batch.descriptor = sender.descriptor
        let a = DatagramAddress(first.address)
        let b = DatagramAddress(second.address)
        let plan: [(UInt16, Int, DatagramAddress)] = [(1, 1170, a), (2, 1170, a), (3, 700, a), (4, 1170, a), (10, 1170, b),
                                                       (5, 400, a), (6, 400, a), (7, 1000, a)]
        for (sequence, payload, address) in plan {
            XCTAssertNotNil(batch.append(packet(sequence, payload: payload), protectedBy: outbound, to: address))
        }
        XCTAssertEqual(batch.flush().sent, plan.count)
        XCTAssertTrue(batch.segmentation)
        var sequences: [UInt16] = []
        for datagram in receiveAll(first.descriptor) {
            var buffer = ByteBuffer(bytes: datagram)
            try inbound.unprotect(&buffer)
            let sequence = buffer.getInteger(at: 2, as: UInt16.self)!
            XCTAssertEqual(buffer, packet(sequence, payload: plan.first { $0.0 == sequence }!.1))
            sequences.append(sequence)
        }
        XCTAssertEqual(sequences, [1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(receiveAll(second.descriptor).count, 1)
    }

    func testARefusedDatagramIsSkippedAndCountedAndTheRestGoOut() throws {
        let sender = try udpSocket()
        let receiver = try udpSocket()
        defer {
            close(sender.descriptor)
            close(receiver.descriptor)
        }
        let outbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .outbound)
        let batch = DatagramBatch(slotSize: 1500)
        batch.descriptor = sender.descriptor
        let good = DatagramAddress(receiver.address)
        // An IPv6 destination on an IPv4 socket: the kernel refuses that one message.
        let wrongFamily = DatagramAddress(try SocketAddress(ipAddress: "::1", port: 9))
        // Not an IP address at all: it keeps no bytes, and the kernel refuses that message too.
        let notIP = DatagramAddress(try SocketAddress(unixDomainSocketPath: "/tmp/liverelay-not-a-media-path"))
        XCTAssertEqual(notIP.length, 0)
        _ = batch.append(packet(1, payload: 100), protectedBy: outbound, to: good)
        _ = batch.append(packet(2, payload: 100), protectedBy: outbound, to: wrongFamily)
        _ = batch.append(packet(5, payload: 100), protectedBy: outbound, to: notIP)
        _ = batch.append(packet(3, payload: 100), protectedBy: outbound, to: good)
        // Larger than a slot: refused before anything is queued.
        XCTAssertNil(batch.append(packet(4, payload: 1480), protectedBy: outbound, to: good))
        let outcome = batch.flush()
        XCTAssertEqual(outcome.sent, 2)
        XCTAssertEqual(outcome.failed, 2)
        XCTAssertNotEqual(outcome.lastError, 0)
        XCTAssertEqual(batch.takeTotals().failed, 3, "the two refused messages and the oversized packet")
        XCTAssertEqual(receiveAll(receiver.descriptor).count, 2)
    }

    func testWithoutASocketNothingIsSentAndEverythingCounts() throws {
        let outbound = try SRTPSession(profile: .aes128CMHMACSHA1_80, key: key, salt: [UInt8](repeating: 1, count: 14),
                                       direction: .outbound)
        let batch = DatagramBatch(slotSize: 1500)
        _ = batch.append(packet(1, payload: 10), protectedBy: outbound, to: DatagramAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 9)))
        XCTAssertEqual(batch.flush().failed, 1)
    }

    /// The fan-out writes packets straight into a reserved slot and commits them: they arrive protected like appended
    /// ones, a reservation in a full batch sends the batch first, and one larger than a slot is refused and counted.
    func testPacketsWrittenIntoReservedSlotsArriveLikeAppendedOnes() throws {
        let (receiver, address) = try udpSocket()
        defer { close(receiver) }
        let (sender, _) = try udpSocket()
        defer { close(sender) }
        let outbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .outbound)
        let inbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .inbound)
        let batch = DatagramBatch(slotSize: 1300 + SRTPSession.maximumTrailerLength, segmentation: false)
        batch.descriptor = sender
        let destination = DatagramAddress(address)
        let count = DatagramBatch.capacity + 5
        for sequence in 0..<UInt16(count) {
            let rtp = packet(sequence, payload: 200)
            let slot = try XCTUnwrap(batch.reserve(rtp.readableBytes))
            rtp.withUnsafeReadableBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: rtp.readableBytes) }
            XCTAssertEqual(batch.commit(rtp.readableBytes, protectedBy: outbound, to: destination), 12 + 200 + 16)
        }
        XCTAssertNil(batch.reserve(1301))
        batch.flush()
        let totals = batch.takeTotals()
        XCTAssertEqual(totals.sent, count)
        XCTAssertEqual(totals.failed, 1)
        let datagrams = receiveAll(receiver)
        XCTAssertEqual(datagrams.count, count)
        for (index, datagram) in datagrams.enumerated() {
            var buffer = ByteBuffer(bytes: datagram)
            try inbound.unprotect(&buffer)
            XCTAssertEqual(Array(buffer.readableBytesView), Array(packet(UInt16(index), payload: 200).readableBytesView))
        }
    }
}
