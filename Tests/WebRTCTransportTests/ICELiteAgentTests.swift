import NIOCore
import STUN
import Testing
@testable import WebRTCTransport

/// The agent on a manual clock: an address is used for media only after it answered the server's own check, consent
/// is the answers to the server's checks, replays change nothing.
struct ICELiteAgentTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let viewerA = try! SocketAddress(ipAddress: "192.0.2.1", port: 5000)
    let viewerB = try! SocketAddress(ipAddress: "192.0.2.1", port: 6000)
    let victim = try! SocketAddress(ipAddress: "198.51.100.7", port: 53)

    func makeAgent() -> ICELiteAgent {
        ICELiteAgent(localUfrag: "srv1", localPassword: "server-password-0123456789", remoteUfrag: "view",
                     remotePassword: "viewer-password-0123456789", tieBreaker: 42, now: Self.start)
    }

    /// The viewer's check, as it would arrive.
    func check(nominate: Bool = true, id: STUNTransactionID = .random()) throws -> STUNMessage {
        try STUNMessage(parsing: STUNMessage.bindingRequest(transactionID: id, username: "srv1:view",
                                                            password: "server-password-0123456789", priority: 1,
                                                            useCandidate: nominate, controlling: 7))
    }

    /// The server's checks among the actions, as the viewer would parse them.
    func checks(_ actions: [ICELiteAgent.Action], to address: SocketAddress) throws -> [STUNMessage] {
        try actions.compactMap { action in
            guard case .send(let bytes, let target) = action, target == address else { return nil }
            let message = try STUNMessage(parsing: bytes)
            return message.messageClass == .request ? message : nil
        }
    }

    func responses(_ actions: [ICELiteAgent.Action], to address: SocketAddress) throws -> [STUNMessage] {
        try actions.compactMap { action in
            guard case .send(let bytes, let target) = action, target == address else { return nil }
            let message = try STUNMessage(parsing: bytes)
            return message.messageClass == .successResponse ? message : nil
        }
    }

    /// The viewer's answer to one of the server's checks.
    func answer(_ request: STUNMessage, from address: SocketAddress, password: String = "viewer-password-0123456789") throws -> STUNMessage {
        try STUNMessage(parsing: STUNMessage.bindingSuccessResponse(transactionID: request.transactionID, mappedAddress: address,
                                                                    password: password))
    }

    /// Proves `address` through the whole exchange; returns the actions of the proof.
    func prove(_ agent: inout ICELiteAgent, _ address: SocketAddress, at now: NIODeadline) throws -> [ICELiteAgent.Action] {
        let (_, actions) = agent.receivedCheck(try check(), from: address, now: now)
        let request = try #require(try checks(actions, to: address).first)
        return try #require(agent.receivedResponse(try answer(request, from: address), from: address, now: now))
    }

    @Test func aNewAddressIsCheckedBeforeAnythingElseGoesThere() throws {
        var agent = makeAgent()
        let viewerCheck = try check()
        let (outcome, actions) = agent.receivedCheck(viewerCheck, from: viewerA, now: Self.start)
        #expect(outcome == .held)
        #expect(agent.selected == nil)
        #expect(try responses(actions, to: viewerA).isEmpty, "the viewer's check waits for the proof")
        let request = try #require(try checks(actions, to: viewerA).first)
        #expect(request.username == "view:srv1")
        #expect(request.iceControlled == 42)
        #expect(request.iceControlling == nil)
        #expect(request.verifyMessageIntegrity(password: "viewer-password-0123456789"))
        #expect(request.verifyFingerprint())
        #expect(request.transactionID != viewerCheck.transactionID)

        let proved = try #require(agent.receivedResponse(try answer(request, from: viewerA), from: viewerA, now: Self.start))
        #expect(proved.contains(.select(viewerA)))
        #expect(agent.selected == viewerA)
        #expect(try responses(proved, to: viewerA).map(\.transactionID) == [viewerCheck.transactionID])
    }

    @Test func anAnswerFromElsewhereOrUnsignedProvesNothing() throws {
        var agent = makeAgent()
        let (_, actions) = agent.receivedCheck(try check(), from: viewerA, now: Self.start)
        let request = try #require(try checks(actions, to: viewerA).first)
        #expect(agent.receivedResponse(try answer(request, from: viewerA), from: victim, now: Self.start) == nil)
        #expect(agent.receivedResponse(try answer(request, from: viewerA, password: "guess"), from: viewerA, now: Self.start) == nil)
        let stranger = try STUNMessage(parsing: STUNMessage.bindingSuccessResponse(
            transactionID: .random(), mappedAddress: viewerA, password: "viewer-password-0123456789"))
        #expect(agent.receivedResponse(stranger, from: viewerA, now: Self.start) == nil)
        #expect(agent.selected == nil)
    }

    @Test func aForgedNominationFromAnAddressThatNeverAnswersMovesNothing() throws {
        var agent = makeAgent()
        _ = try prove(&agent, viewerA, at: Self.start)
        var now = Self.start + .seconds(1)
        let (outcome, actions) = agent.receivedCheck(try check(nominate: true), from: victim, now: now)
        #expect(outcome == .held)
        var sentToVictim = try checks(actions, to: victim).count
        var forgotten = false
        for _ in 0..<20 {
            now = now + .milliseconds(200)
            let later = agent.tick(now: now)
            sentToVictim += try checks(later, to: victim).count
            #expect(try responses(later, to: victim).isEmpty)
            if later.contains(.forget(victim)) { forgotten = true }
        }
        #expect(agent.selected == viewerA)
        #expect(sentToVictim == ICELiteAgent.maximumAttempts)
        #expect(forgotten)
        #expect(!agent.knownAddresses.contains(victim))
    }

    @Test func aReplayedTransactionFromAnotherAddressChangesNothing() throws {
        var agent = makeAgent()
        let original = try check()
        let (_, first) = agent.receivedCheck(original, from: viewerA, now: Self.start)
        let request = try #require(try checks(first, to: viewerA).first)
        _ = agent.receivedResponse(try answer(request, from: viewerA), from: viewerA, now: Self.start)
        let replay = agent.receivedCheck(original, from: victim, now: Self.start + .seconds(1))
        #expect(replay.outcome == .replayed)
        #expect(replay.actions.isEmpty)
        #expect(agent.replaysIgnored == 1)
        // The viewer retransmitting it from its own address is answered again.
        let retransmission = agent.receivedCheck(original, from: viewerA, now: Self.start + .seconds(1))
        #expect(retransmission.outcome == .answered)
        #expect(try responses(retransmission.actions, to: viewerA).count == 1)
    }

    @Test func aProvenSecondAddressTakesTheMediaWhenNominated() throws {
        var agent = makeAgent()
        _ = try prove(&agent, viewerA, at: Self.start)
        let moved = try prove(&agent, viewerB, at: Self.start + .seconds(3))
        #expect(moved.contains(.select(viewerB)))
        #expect(agent.selected == viewerB)
        // A check from the old address without nomination does not move it back.
        let (outcome, actions) = agent.receivedCheck(try check(nominate: false), from: viewerA, now: Self.start + .seconds(4))
        #expect(outcome == .answered)
        #expect(!actions.contains(.select(viewerA)))
        #expect(agent.selected == viewerB)
    }

    /// A NAT that rebinds: the viewer's checks come from a new port, unnominated; the old one no longer answers.
    /// A selected, then B's unnominated check and the answer that proves B, at `now`; returns the proof's actions.
    func proveSecondAddressUnnominated(_ agent: inout ICELiteAgent, now: NIODeadline) throws -> [ICELiteAgent.Action] {
        _ = try prove(&agent, viewerA, at: Self.start)
        let (_, actions) = agent.receivedCheck(try check(nominate: false), from: viewerB, now: now)
        let request = try #require(try checks(actions, to: viewerB).first)
        return try #require(agent.receivedResponse(try answer(request, from: viewerB), from: viewerB, now: now))
    }

    @Test func aProvenAddressTakesOverWhenTheSelectedOneFallsSilent() throws {
        var agent = makeAgent()
        let now = Self.start + .seconds(10)
        let proved = try proveSecondAddressUnnominated(&agent, now: now)
        #expect(!proved.contains(.select(viewerB)), "not before the selected address had its chance")
        #expect(try checks(proved, to: viewerA).count == 1, "the selected address is asked at once")
        #expect(!agent.tick(now: now + .milliseconds(500)).contains(.select(viewerB)))
        #expect(agent.tick(now: now + .seconds(1)).contains(.select(viewerB)))
        #expect(agent.selected == viewerB)
    }

    @Test func aSelectedAddressThatStillAnswersKeepsTheMedia() throws {
        var agent = makeAgent()
        let now = Self.start + .seconds(10)
        let proved = try proveSecondAddressUnnominated(&agent, now: now)
        let askA = try #require(try checks(proved, to: viewerA).first)
        #expect(agent.receivedResponse(try answer(askA, from: viewerA), from: viewerA, now: now + .milliseconds(20)) == [])
        #expect(!agent.tick(now: now + .seconds(2)).contains(.select(viewerB)))
        #expect(agent.selected == viewerA)
    }

    @Test func consentIsTheAnswersToOurChecksNotTheViewersChecks() throws {
        var agent = makeAgent()
        _ = try prove(&agent, viewerA, at: Self.start)
        #expect(agent.lastConsent == Self.start)
        // Checks from the viewer (or anyone with its credentials) keep coming; they do not refresh consent.
        var now = Self.start
        var consentChecks: [STUNMessage] = []
        for _ in 0..<35 {
            now = now + .seconds(1)
            _ = agent.receivedCheck(try check(nominate: false), from: viewerA, now: now)
            consentChecks += try checks(agent.tick(now: now), to: viewerA)
        }
        #expect(agent.lastConsent == Self.start)
        // A check every 4–6 s: over 35 s, 5 to 8 of them.
        #expect((5...8).contains(consentChecks.count), "\(consentChecks.count) consent checks")
        let last = try #require(consentChecks.last)
        #expect(agent.receivedResponse(try answer(last, from: viewerA), from: viewerA, now: now) == [])
        #expect(agent.lastConsent == now)
        // The same answer again is not a new consent.
        #expect(agent.receivedResponse(try answer(last, from: viewerA), from: viewerA, now: now + .seconds(1)) == nil)
    }

    @Test func addressesUnderProofAreBounded() throws {
        var agent = makeAgent()
        var outcomes: [ICELiteAgent.CheckOutcome] = []
        for port in 1000..<1010 {
            let address = try SocketAddress(ipAddress: "203.0.113.9", port: port)
            outcomes.append(agent.receivedCheck(try check(), from: address, now: Self.start).outcome)
        }
        #expect(outcomes.filter { $0 == .held }.count == ICELiteAgent.maximumPendingProofs)
        #expect(outcomes.filter { $0 == .refused }.count == 10 - ICELiteAgent.maximumPendingProofs)
    }
}
