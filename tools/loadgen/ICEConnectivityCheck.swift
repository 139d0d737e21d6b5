import NIOCore
import STUN

/// The controlling agent's side of one candidate pair: the nominating check, retransmitted until the server
/// answers, then a consent refresh (RFC 7675) every few seconds for the life of the session.
///
/// Pure: it builds STUN messages and says what to do; the viewer handler sends them and keeps the clock.
struct ICEConnectivityCheck {
    enum Action: Equatable {
        case send([UInt8])
        /// No success response to the nominating check in time.
        case timedOut
        /// The server answered the nominating check with an error response.
        case rejected(String)
        /// The pair was confirmed (the first success response).
        case connected
        /// No consent response for `consentTimeout`; the server may stop sending.
        case consentExpired
    }

    private struct Transaction {
        var id: STUNTransactionID
        var bytes: [UInt8]
        var firstSent: NIODeadline
        var nextSend: NIODeadline
        var interval: TimeAmount
    }

    /// Consent freshness after the pair is confirmed. A response to any of the recent checks counts: a server
    /// whose loop lags may answer a check after the next one went out.
    private struct Consent {
        static let remembered = 6
        var lastResponse: NIODeadline
        var nextRefresh: NIODeadline
        var recent: [STUNTransactionID] = []
        var expired = false

        mutating func sent(_ id: STUNTransactionID) {
            if recent.count == Self.remembered { recent.removeFirst() }
            recent.append(id)
        }
    }

    private enum State {
        case idle
        case checking(Transaction)
        case connected(Consent)
        case failed
    }

    static let checkTimeout: TimeAmount = .seconds(5)
    static let firstRetransmission: TimeAmount = .milliseconds(100)
    static let maximumRetransmission: TimeAmount = .milliseconds(800)
    static let consentInterval: TimeAmount = .seconds(5)
    static let consentTimeout: TimeAmount = .seconds(30)
    /// Peer-reflexive type preference 110 (RFC 8445 §7.1.1): what the server learns our address as.
    static let priority: UInt32 = 110 << 24 | 65535 << 8 | 255

    /// "server-ufrag:viewer-ufrag".
    let username: String
    /// The server's ICE password, which signs our requests and its responses.
    let password: String
    let tieBreaker: UInt64
    private var state = State.idle

    init(username: String, password: String, tieBreaker: UInt64) {
        self.username = username
        self.password = password
        self.tieBreaker = tieBreaker
    }

    /// The first nominating check.
    mutating func start(now: NIODeadline) -> [UInt8] {
        let transaction = makeTransaction(now: now)
        state = .checking(transaction)
        return transaction.bytes
    }

    /// Retransmissions, the check's timeout, consent refreshes and expiry, as time passes.
    mutating func poll(now: NIODeadline) -> Action? {
        switch state {
        case .idle, .failed:
            return nil
        case .checking(var transaction):
            if now - transaction.firstSent >= Self.checkTimeout {
                state = .failed
                return .timedOut
            }
            guard now >= transaction.nextSend else { return nil }
            transaction.interval = .nanoseconds(min(transaction.interval.nanoseconds * 2, Self.maximumRetransmission.nanoseconds))
            transaction.nextSend = now + transaction.interval
            state = .checking(transaction)
            return .send(transaction.bytes)
        case .connected(var consent):
            if !consent.expired, now - consent.lastResponse >= Self.consentTimeout {
                consent.expired = true
                state = .connected(consent)
                return .consentExpired
            }
            guard now >= consent.nextRefresh else { return nil }
            let transaction = makeTransaction(now: now)
            consent.sent(transaction.id)
            consent.nextRefresh = now + Self.consentInterval
            state = .connected(consent)
            return .send(transaction.bytes)
        }
    }

    /// A STUN response from the server; anything not answering our outstanding transaction, or not signed with
    /// the server's password, is ignored.
    mutating func receive(_ message: STUNMessage, now: NIODeadline) -> Action? {
        guard message.method == .binding, message.messageClass == .successResponse || message.messageClass == .errorResponse,
              message.verifyMessageIntegrity(password: password), !message.hasFingerprint || message.verifyFingerprint()
        else { return nil }
        switch state {
        case .checking(let transaction) where transaction.id == message.transactionID:
            guard message.messageClass == .successResponse else {
                state = .failed
                let code = message.errorCode.map { "\($0.code) \($0.reason)" } ?? "error response"
                return .rejected(code)
            }
            state = .connected(Consent(lastResponse: now, nextRefresh: now + Self.consentInterval))
            return .connected
        case .connected(var consent) where consent.recent.contains(message.transactionID):
            guard message.messageClass == .successResponse else { return nil }
            consent.lastResponse = now
            consent.recent.removeAll { $0 == message.transactionID }
            state = .connected(consent)
            return nil
        default:
            return nil
        }
    }

    private func makeTransaction(now: NIODeadline) -> Transaction {
        let id = STUNTransactionID.random()
        let bytes = STUNMessage.bindingRequest(transactionID: id, username: username, password: password,
                                               priority: Self.priority, useCandidate: true, controlling: tieBreaker)
        return Transaction(id: id, bytes: bytes, firstSent: now, nextSend: now + Self.firstRetransmission,
                           interval: Self.firstRetransmission)
    }
}
