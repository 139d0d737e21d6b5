import ArgumentParser

extension ReceiveMode: ExpressibleByArgument {}
extension FeedbackMode: ExpressibleByArgument {}

@main
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liverelay-loadgen",
        abstract: "N WHEP viewers in one process: ICE, DTLS-SRTP, receiver feedback, join times and loss.",
        discussion: """
        Points at any WHEP endpoint over plain HTTP. A summary goes to stderr every few seconds; the final report to \
        stdout (with --json, one JSON object on the last line).
        """)

    @Option(help: "The WHEP resource to POST offers to.")
    var url = "http://127.0.0.1:8080/whep/demo"

    @Option(help: "Viewers per wave.")
    var viewers = 10

    @Option(name: .customLong("ramp-per-second"), help: "Joins started per second.")
    var rampPerSecond = 50.0

    @Option(help: "How long each wave holds after its last join started, in seconds.")
    var seconds = 30.0

    @Option(help: "Waves of join, hold, leave (more than one measures churn).")
    var waves = 1

    @Option(name: .customLong("max-layer"), help: "Appended as ?maxLayer= (e.g. 360p).")
    var maxLayer: String?

    @Option(help: "Sent as Authorization: Bearer <token>.")
    var token: String?

    @Option(help: "decrypt: unprotect every SRTP packet and read keyframe sizes; count: count datagrams only.")
    var mode = ReceiveMode.decrypt

    @Option(help: "Congestion feedback besides receiver reports: remb, transport-cc or none.")
    var feedback = FeedbackMode.remb

    @Option(name: .customLong("remb-bps"), help: "A fixed REMB bitrate instead of 1.5 × the measured rate + 10 kbit/s.")
    var rembBPS: UInt64?

    @Option(name: .customLong("candidate-host"), help: "Check this candidate address of the answer (default: the URL host, else the best of its family).")
    var candidateHost: String?

    @Option(name: .customLong("summary-interval"), help: "Seconds between progress lines on stderr.")
    var summaryInterval = 5.0

    @Flag(inversion: .prefixedNo, help: """
        Receive a run of datagrams the server sent as one UDP GSO message in one read (UDP_GRO), as a host behind a \
        NIC with GRO does; on loopback this also spares the sender the kernel's re-cutting of the run.
        """)
    var receiveOffload = true

    @Flag(help: "Print the final report as one JSON object on the last stdout line.")
    var json = false

    func validate() throws {
        guard WHEPEndpoint(url: url) != nil else { throw ValidationError("--url must be http://host[:port]/path") }
        guard viewers >= 1 else { throw ValidationError("--viewers must be at least 1") }
        guard rampPerSecond > 0 else { throw ValidationError("--ramp-per-second must be positive") }
        guard seconds >= 0 else { throw ValidationError("--seconds must not be negative") }
        guard waves >= 1 else { throw ValidationError("--waves must be at least 1") }
        guard summaryInterval >= 0.5 else { throw ValidationError("--summary-interval must be at least 0.5") }
        if rembBPS != nil, feedback != .remb { throw ValidationError("--remb-bps needs --feedback remb") }
    }

    func run() async throws {
        var endpoint = WHEPEndpoint(url: url)!
        if let maxLayer { endpoint = endpoint.addingQuery("maxLayer", maxLayer) }
        let settings = LoadSettings(endpoint: endpoint, viewers: viewers, rampPerSecond: rampPerSecond, seconds: seconds,
                                    waves: waves, token: token, mode: mode, feedback: feedback, fixedREMB: rembBPS,
                                    candidateHost: candidateHost, summaryInterval: summaryInterval,
                                    receiveOffload: receiveOffload)
        let report = try await LoadRun(settings: settings).run()
        if json {
            Console.error(report.text)
            print(report.json)
        } else {
            print(report.text)
        }
    }
}
