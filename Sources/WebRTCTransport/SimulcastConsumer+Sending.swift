import DatagramIO
import MediaCore
import NIOCore
import RTP
import Adaptation
import SRTP

/// The consumer's packets: each is written straight into a slot of the shard's datagram batch, stamped with the
/// transport-wide sequence number, sealed there and noted for the estimator. The shard flushes the batch.
extension SimulcastConsumer {
    /// Where a consumer's packets go: the shard's batch, sealed with the viewer's SRTP context, to its address.
    struct Outlet {
        unowned(unsafe) let batch: DatagramBatch
        unowned(unsafe) let sealer: SRTPSession
        let address: DatagramAddress
    }

    /// What answering a NACK did, for the shard's counters.
    struct RepairOutcome {
        var sent = 0
        var refused = 0
        var missed = 0
        var repeated = 0
        var copies = 1
        var budget = 0
    }

    /// Queues a frame for the pacer. Frames that waited too long are dropped, and unless this one is a keyframe
    /// the viewer waits for the next. Returns the frames dropped and the keyframe request that follows.
    mutating func enqueue(data: ByteBuffer, pts: Int64, isKeyframe: Bool, policy: Policy, now: NIODeadline,
                          at microseconds: Int64) -> (dropped: Int, keyframe: Action?) {
        guard video != nil else { return (0, nil) }
        let waiting = VideoSendQueue.WaitingFrame(data: data, timestamp: UInt32(truncatingIfNeeded: pts) &+ video!.timestampOffset,
                                                  isKeyframe: isKeyframe, queuedAt: microseconds)
        switch video!.queue.enqueue(waiting, maximumDelay: policy.maximumPacingDelay) {
        case .queued:
            return (0, nil)
        case .droppedBeforeKeyframe(let count):
            pacedFramesDropped += count
            return (count, nil)
        case .dropped(let count):
            pacedFramesDropped += count
            awaitingKeyframe = true
            return (count, keyframeWanted(force: true, now: now))
        }
    }

    /// Whether video waits for the pacer.
    var hasQueuedVideo: Bool {
        @inline(__always) mutating get {
            guard video != nil else { return false }
            return !video!.queue.isEmpty
        }
    }

    /// Sends the queued video as far as the pacing budget allows. Returns the packets sent.
    @discardableResult
    mutating func sendQueued(through outlet: Outlet, tally: inout SentPacketTally, at microseconds: Int64, stamp: UInt32) -> Int {
        guard video != nil else { return 0 }
        let layout = video!.packetizer.header.extensions
        pacing.refill(at: microseconds)
        var packets = 0
        var rtpBytes = 0
        var sentBytes = 0
        while pacing.allowsSending, let next = video!.nextPacket(stamp: stamp) {
            // The first packet is the longest: every slot is reserved for that size.
            guard let slot = outlet.batch.reserve(video!.queue.sending.length(ofPacket: 0)) else { continue }
            let length = video!.queue.sending.write(next.index, to: slot)
            if next.restamp { layout.setAbsSendTime(stamp, at: slot) }
            guard let size = commit(slot, length: length, layout: layout, through: outlet, tally: &tally, isProbe: false,
                                    at: microseconds, kind: .video) else { continue }
            pacing.spend(size)
            packets += 1
            rtpBytes += length
            sentBytes += size
        }
        video!.packets &+= UInt32(truncatingIfNeeded: packets)
        video!.octets &+= UInt32(truncatingIfNeeded: rtpBytes)
        if sentBytes > 0 { sendRate.add(bytes: sentBytes, at: microseconds) }
        return packets
    }

    /// Sends one Opus frame (never held back: it is small and steady, but it uses up the budget video is paced by).
    /// A frame too large for one packet (Opus cannot be fragmented) is skipped.
    mutating func sendAudio(_ frame: EncodedFrame, through outlet: Outlet, tally: inout SentPacketTally,
                            at microseconds: Int64, stamp: UInt32) {
        guard audio != nil else { return }
        if let length = audio!.packetizer.packetLength(frame: frame.data), let slot = outlet.batch.reserve(length) {
            let timestamp = UInt32(truncatingIfNeeded: frame.pts) &+ audio!.timestampOffset
            audio!.packetizer.write(frame: frame.data, timestamp: timestamp, absSendTime: stamp, to: slot)
            audio!.packets &+= 1
            audio!.octets &+= UInt32(truncatingIfNeeded: length)
            if let size = commit(slot, length: length, layout: audio!.packetizer.header.extensions, through: outlet,
                                 tally: &tally, isProbe: false, at: microseconds, kind: .audio) {
                sendRate.add(bytes: size, at: microseconds)
                pacing.refill(at: microseconds)
                pacing.spend(size)
            }
        }
        audio!.frames &+= 1
    }

    /// Sends NACKed packets again from the frame history, as RTX (RFC 4588), within the viewer's budget. A viewer
    /// without RTX gets no repairs (its answer did not offer NACK): resending a packet under its own SSRC and
    /// sequence number with a new header would seal different bytes under the same SRTP nonce.
    /// On a path with steady random loss (2–20 % and no queue building) each repair goes out twice, as two RTX
    /// packets: a repair lost too would cost the receiver another round of its NACK timer (libwebrtc waits 100 ms
    /// when it cannot measure the round trip), long enough to freeze the picture; two copies make that 1 in 400
    /// instead of 1 in 20, for a few percent more bits.
    mutating func retransmit(_ lost: [UInt16], through outlet: Outlet, scratch: inout ByteBuffer, tally: inout SentPacketTally,
                             now: NIODeadline) -> RepairOutcome {
        var outcome = RepairOutcome()
        guard video != nil, video!.rtx != nil else { return outcome }
        let microseconds = EgressShard.microseconds(now)
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        outcome.copies = Self.repairsTwice(windowedLoss: windowedLoss, congested: estimator.overusedRecently(at: microseconds)) ? 2 : 1
        outcome.budget = video!.retransmissionBudget
        for sequenceNumber in lost.prefix(64) {
            // Short of tokens for two copies, one still goes; none left, the packet is refused (each one counted).
            guard video!.retransmissionBudget > 0 else {
                outcome.refused += 1
                continue
            }
            guard let (frame, index) = video!.locate(sequenceNumber) else {
                outcome.missed += 1
                continue
            }
            guard video!.mayRetransmit(sequenceNumber, at: microseconds) else {
                outcome.repeated += 1
                continue
            }
            for _ in 0..<min(outcome.copies, video!.retransmissionBudget) {
                guard video!.writeRetransmission(index: index, of: frame, originalSequenceNumber: sequenceNumber,
                                                 absSendTime: sendTime, into: &scratch) else { break }
                video!.retransmissionBudget -= 1
                sendCopy(of: scratch, layout: video!.packetizer.header.extensions, through: outlet, tally: &tally,
                         isProbe: false, at: microseconds, kind: .retransmission)
                outcome.sent += 1
            }
        }
        return outcome
    }

    /// Sends the probe padding owed since the last step: RTX copies of the latest frame's packets, round robin.
    mutating func pad(through outlet: Outlet, scratch: inout ByteBuffer, tally: inout SentPacketTally,
                      maximumPacketSize: Int, now: NIODeadline) {
        guard probe != nil else { return }
        guard now < probe!.until else {
            probe = nil
            return
        }
        guard video != nil else { return }
        let elapsed = Double((now - probe!.lastSentAt).nanoseconds) / 1e9
        probe!.lastSentAt = now
        // At most 50 ms of credit, so a late step does not turn into a burst.
        probe!.creditBytes = min(probe!.creditBytes + elapsed * Double(probe!.bitrate) / 8, Double(probe!.bitrate) / 160)
        guard video!.rtx != nil, let frame = video!.history.last, frame.packetCount > 0 else { return }
        let microseconds = EgressShard.microseconds(now)
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        while probe!.creditBytes >= Double(maximumPacketSize) {
            let index = probe!.cursor % frame.packetCount
            probe!.cursor &+= 1
            guard video!.writeRetransmission(index: index, of: frame,
                                             originalSequenceNumber: frame.firstSequenceNumber &+ UInt16(truncatingIfNeeded: index),
                                             absSendTime: sendTime, into: &scratch) else { break }
            probe!.creditBytes -= Double(scratch.readableBytes + 16)
            sendCopy(of: scratch, layout: video!.packetizer.header.extensions, through: outlet, tally: &tally,
                     isProbe: true, at: microseconds, kind: .padding)
        }
    }

    /// Copies a packet built elsewhere (a repair, padding) into the batch and sends it like the others.
    private mutating func sendCopy(of packet: ByteBuffer, layout: RTPHeaderExtensionLayout, through outlet: Outlet,
                                   tally: inout SentPacketTally, isProbe: Bool, at microseconds: Int64, kind: SentPacketKind) {
        let length = packet.readableBytes
        guard let slot = outlet.batch.reserve(length) else { return }
        packet.withUnsafeReadableBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: length) }
        guard let size = commit(slot, length: length, layout: layout, through: outlet, tally: &tally, isProbe: isProbe,
                                at: microseconds, kind: kind) else { return }
        sendRate.add(bytes: size, at: microseconds)
    }

    /// The packet of `length` bytes written into the batch's reserved `slot`: stamps its transport-wide sequence
    /// number, seals and queues it, and notes it for the estimator. Returns the datagram's size (nil: not queued,
    /// counted by the batch). The caller adds it to the send rate (once per frame).
    @inline(__always)
    private mutating func commit(_ slot: UnsafeMutableRawPointer, length: Int, layout: RTPHeaderExtensionLayout,
                                 through outlet: Outlet, tally: inout SentPacketTally, isProbe: Bool,
                                 at microseconds: Int64, kind: SentPacketKind) -> Int? {
        let sequenceNumber = transportSequence
        let stamped = layout.transportSequenceNumberID != nil
        if stamped {
            layout.setTransportSequenceNumber(sequenceNumber, at: slot)
            transportSequence &+= 1
        }
        guard let size = outlet.batch.commit(length, protectedBy: outlet.sealer, to: outlet.address) else { return nil }
        tally.count(kind, bytes: size)
        if estimator.isProbing { estimator.sentDuringProbe(at: microseconds) }
        if stamped {
            sentLog?.record(sequenceNumber: sequenceNumber, sendTime: microseconds, size: size, isProbe: isProbe)
        }
        return size
    }
}

extension VideoSender {
    /// The next packet the send queue has for the packetizer; a frame's first packet puts the frame in the history.
    @inline(__always)
    mutating func nextPacket(stamp: UInt32) -> (index: Int, restamp: Bool)? {
        guard let next = queue.next(packetizer: &packetizer, stamp: stamp) else { return nil }
        if next.index == 0 {
            frames &+= 1
            let packets = queue.sending
            remember(.init(data: packets.frame, timestamp: queue.sendingTimestamp, pictureID: packets.pictureID,
                           firstSequenceNumber: packets.firstSequenceNumber, packetCount: packets.count))
        }
        return (next.index, next.restamp)
    }

    /// Writes packet `index` of a frame in the history again, as RTX, into `buffer`; false without RTX or when the
    /// packet cannot be rebuilt.
    mutating func writeRetransmission(index: Int, of frame: SentFrame, originalSequenceNumber: UInt16, absSendTime: UInt32,
                                      into buffer: inout ByteBuffer) -> Bool {
        guard let rtx,
              packetizer.writeRetransmission(index: index, of: frame.data, timestamp: frame.timestamp, pictureID: frame.pictureID,
                                             originalSequenceNumber: originalSequenceNumber, rtx: rtx,
                                             rtxSequenceNumber: rtxSequenceNumber, absSendTime: absSendTime, into: &buffer)
        else { return false }
        rtxSequenceNumber &+= 1
        return true
    }
}
