import NIOCore
import STUN

/// One viewer's ICE on the server side: which of its addresses have proved that they receive what we send, which
/// one carries media, and whether the viewer still consents to receiving it (RFC 7675).
///
/// Pure: its input is a checked STUN message or the passing of time, each with `now`; its output is what to send
/// where. The egress does the I/O.
///
/// **How this departs from strict ICE-lite (RFC 8445 §2.5).** A lite agent sends no checks: it answers the full
/// agent's and sends media to the address they come from. But a source address is only a claim. Whoever holds a
/// session's credentials (any viewer holds its own) can forge one check from a third party's address, with
/// USE-CANDIDATE, and a lite agent would aim the session's media at that party — a reflector for anyone on the
/// internet. So this agent sends a binding request of its own (a fresh transaction ID, signed with the viewer's
/// password) to every new address and treats it as valid only when the success response comes back from there,
/// as a full agent's check of that pair would. Until then nothing goes to the address but that check: the
/// viewer's own check is answered after the proof (its agent retransmits meanwhile, and gets the answer one round
/// trip late), and DTLS and RTCP from it are not processed. Consent is likewise kept by the answers to checks the
/// server sends every few seconds (RFC 7675 §5.1), not by the viewer's checks, which anyone with the credentials
/// could forge. Full agents (browsers, aiortc) answer such checks whatever the peer's lite flag says.
///
/// Media moves to another proven address when the viewer nominates it, or when the viewer's checks come from there
/// and the selected address does not answer an immediate check within `takeoverWait` — a NAT that rebound its
/// mapping, a socket that moved, where the viewer's agent sees the same pair and nominates nothing anew.
struct ICELiteAgent {
    enum Action: Equatable {
        /// A STUN message for the address (a response, or a check of our own).
        case send([UInt8], to: SocketAddress)
        /// Media now goes to this address (it proved itself and was nominated, is the first, or took over from a
        /// selected address that stopped answering).
        case select(SocketAddress)
        /// Not proven: an address given up on (no answer to our checks); the egress forgets it.
        case forget(SocketAddress)
    }

    /// What became of a checked binding request.
    enum CheckOutcome: Equatable {
        /// Answered now (the address is proven).
        case answered
        /// Held until the address proves itself.
        case held
        /// A transaction ID seen before from another address: a replay, ignored.
        case replayed
        /// Too many addresses under proof, or too many checks held for one.
        case refused
    }

    /// A check of ours in flight to an address, and the viewer's checks from there waiting for its answer.
    private struct Proof {
        var transactionID: STUNTransactionID
        var bytes: [UInt8]
        var attempts: Int
        var nextSend: NIODeadline
        var held: [(transactionID: STUNTransactionID, nominate: Bool)] = []
        var nominate = false
    }

    static let retransmissionInterval: TimeAmount = .milliseconds(250)
    /// Checks sent to an address before it is given up on: at most this many datagrams answer one forged check.
    static let maximumAttempts = 3
    /// Addresses under proof at once; beyond it new addresses are refused until one is settled.
    static let maximumPendingProofs = 2
    /// Addresses a session may have proved in its life (a viewer moving networks has a few).
    static let maximumProvenAddresses = 8
    static let maximumHeldChecks = 4
    /// Transaction IDs remembered for replay detection.
    static let rememberedTransactions = 64
    /// RFC 7675 §5.1: a check every 4–6 s (5 s ± 20 %, randomised so viewers do not move in step).
    static let consentInterval: ClosedRange<Int64> = 4_000...6_000
    /// Consent checks in flight whose answers still count (a lagging viewer may answer one late).
    static let rememberedConsentChecks = 8
    /// How long the selected address has to answer an immediate check once another address proved itself without a
    /// nomination; if it does not, the new one carries the media (a NAT that rebound, a socket that moved).
    static let takeoverWait: TimeAmount = .seconds(1)

    let localUfrag: String
    let localPassword: String
    let remoteUfrag: String
    let remotePassword: String
    /// Sent in ICE-CONTROLLED with our checks (we are the controlled agent).
    let tieBreaker: UInt64

    private(set) var proven: [SocketAddress] = []
    private(set) var selected: SocketAddress?
    private(set) var nominated = false
    /// When the selected address last answered one of our checks (consent granted).
    private(set) var lastConsent: NIODeadline
    private var proofs: [SocketAddress: Proof] = [:]
    private var seen: [(transactionID: STUNTransactionID, address: SocketAddress)] = []
    private var seenIndex = 0
    private var consentChecks: [STUNTransactionID] = []
    private var nextConsentCheck: NIODeadline?
    /// A proven address waiting to see whether the selected one still answers.
    private var standby: (address: SocketAddress, since: NIODeadline)?
    private(set) var replaysIgnored = 0

    init(localUfrag: String, localPassword: String, remoteUfrag: String, remotePassword: String,
         tieBreaker: UInt64 = UInt64.random(in: 0...UInt64.max), now: NIODeadline) {
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.remoteUfrag = remoteUfrag
        self.remotePassword = remotePassword
        self.tieBreaker = tieBreaker
        self.lastConsent = now
    }

    /// Addresses datagrams are accepted from: proven, or under proof (for the answer to our check).
    var knownAddresses: [SocketAddress] { proven + proofs.keys }

    func isProven(_ address: SocketAddress) -> Bool { proven.contains(address) }

    /// Whether a binding request is the viewer's: our ufrag first, its own second, signed with our password.
    func authenticates(_ message: STUNMessage) -> Bool {
        guard let username = message.username, let colon = username.firstIndex(of: ":"),
              username[..<colon] == localUfrag, username[username.index(after: colon)...] == remoteUfrag else { return false }
        return message.verifyMessageIntegrity(password: localPassword) && (!message.hasFingerprint || message.verifyFingerprint())
    }

    /// A binding request that `authenticates`, from `address`.
    mutating func receivedCheck(_ message: STUNMessage, from address: SocketAddress, now: NIODeadline)
        -> (outcome: CheckOutcome, actions: [Action]) {
        let transactionID = message.transactionID
        if let earlier = seen.first(where: { $0.transactionID == transactionID }) {
            // A retransmission from the same address is answered again (our answer may have been lost); the same
            // request from elsewhere is someone replaying it.
            guard earlier.address == address else {
                replaysIgnored += 1
                return (.replayed, [])
            }
            if isProven(address) { return (.answered, [answer(transactionID, to: address)]) }
            return (.held, [])  // held already with its proof
        } else {
            remember(transactionID, from: address)
        }
        if isProven(address) {
            var actions: [Action] = []
            if message.useCandidate, selected != address || !nominated {
                nominated = true
                if selected != address { actions.append(select(address, now: now)) }
            } else if let current = selected, current != address, standby == nil, now - lastConsent > .seconds(2) {
                // Checks from another proven address while the selected one has been quiet: is it still there?
                standby = (address, now)
                actions.append(consentCheck(to: current))
            }
            actions.append(answer(transactionID, to: address))
            return (.answered, actions)
        }
        if var proof = proofs[address] {
            guard proof.held.count < Self.maximumHeldChecks else { return (.refused, []) }
            proof.held.append((transactionID, message.useCandidate))
            proofs[address] = proof
            return (.held, [])
        }
        guard proofs.count < Self.maximumPendingProofs, proven.count < Self.maximumProvenAddresses else { return (.refused, []) }
        let check = makeCheck()
        proofs[address] = Proof(transactionID: check.id, bytes: check.bytes, attempts: 1,
                                nextSend: now + Self.retransmissionInterval, held: [(transactionID, message.useCandidate)])
        return (.held, [.send(check.bytes, to: address)])
    }

    /// A binding success response from `address`. Returns nil when it answers none of our checks (or is not signed
    /// with the viewer's password): it is ignored.
    mutating func receivedResponse(_ message: STUNMessage, from address: SocketAddress, now: NIODeadline) -> [Action]? {
        guard message.messageClass == .successResponse, message.verifyMessageIntegrity(password: remotePassword),
              !message.hasFingerprint || message.verifyFingerprint() else { return nil }
        let transactionID = message.transactionID
        if let proof = proofs[address], proof.transactionID == transactionID {
            proofs.removeValue(forKey: address)
            proven.append(address)
            var actions: [Action] = []
            let nominate = proof.held.contains { $0.nominate }
            if selected == nil || (nominate && selected != address) {
                actions.append(select(address, now: now))
            } else if let current = selected, current != address {
                // Proven but not nominated: the viewer's checks now come from here. Ask the selected address at
                // once; `tick` moves the media if it stays silent.
                standby = (address, now)
                actions.append(consentCheck(to: current))
            }
            if nominate { nominated = true }
            for held in proof.held { actions.append(answer(held.transactionID, to: address)) }
            return actions
        }
        if address == selected, let index = consentChecks.firstIndex(of: transactionID) {
            consentChecks.removeSubrange(...index)
            lastConsent = now
            return []
        }
        return nil
    }

    /// Retransmissions of pending checks, addresses given up on, and consent checks due.
    mutating func tick(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        for (address, var proof) in proofs where proof.nextSend <= now {
            if proof.attempts >= Self.maximumAttempts {
                proofs.removeValue(forKey: address)
                if !isProven(address) { actions.append(.forget(address)) }
                continue
            }
            proof.attempts += 1
            proof.nextSend = now + Self.retransmissionInterval * Int64(proof.attempts)
            proofs[address] = proof
            actions.append(.send(proof.bytes, to: address))
        }
        if let waiting = standby, now - waiting.since >= Self.takeoverWait {
            standby = nil
            if lastConsent < waiting.since, isProven(waiting.address) { actions.append(select(waiting.address, now: now)) }
        }
        if let selected, let due = nextConsentCheck, due <= now {
            nextConsentCheck = now + Self.randomisedConsentInterval()
            actions.append(consentCheck(to: selected))
        }
        return actions
    }

    private mutating func consentCheck(to address: SocketAddress) -> Action {
        let check = makeCheck()
        if consentChecks.count == Self.rememberedConsentChecks { consentChecks.removeFirst() }
        consentChecks.append(check.id)
        return .send(check.bytes, to: address)
    }

    private mutating func select(_ address: SocketAddress, now: NIODeadline) -> Action {
        selected = address
        standby = nil
        // The answer that proved it is the first consent; checks begin from here.
        lastConsent = now
        consentChecks.removeAll()
        nextConsentCheck = now + Self.randomisedConsentInterval()
        return .select(address)
    }

    private mutating func remember(_ transactionID: STUNTransactionID, from address: SocketAddress) {
        if seen.count < Self.rememberedTransactions {
            seen.append((transactionID, address))
        } else {
            seen[seenIndex] = (transactionID, address)
            seenIndex = (seenIndex + 1) % Self.rememberedTransactions
        }
    }

    private func answer(_ transactionID: STUNTransactionID, to address: SocketAddress) -> Action {
        .send(STUNMessage.bindingSuccessResponse(transactionID: transactionID, mappedAddress: address, password: localPassword),
              to: address)
    }

    private func makeCheck() -> (id: STUNTransactionID, bytes: [UInt8]) {
        let id = STUNTransactionID.random()
        // Host type preference 126 (RFC 8445 §5.1.2.1): the server's candidates are host candidates.
        let bytes = STUNMessage.bindingRequest(transactionID: id, username: "\(remoteUfrag):\(localUfrag)",
                                               password: remotePassword, priority: 126 << 24 | 65535 << 8 | 255,
                                               useCandidate: false, controlling: nil, controlled: tieBreaker)
        return (id, bytes)
    }

    private static func randomisedConsentInterval() -> TimeAmount {
        .milliseconds(Int64.random(in: consentInterval))
    }
}
