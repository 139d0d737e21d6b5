import Foundation

/// A viewer host of its own: a network namespace joined to this one by a veth pair, its downlink throttled with
/// `tc tbf` or made lossy with nftables (`tools/interop/netns.py` does the work; netem is not in this kernel).
/// Names carry the test process id so parallel runs on one machine do not collide; the address block is the first
/// free one, and hosts left behind by a run that was killed are removed on the next create (the tool records owners).
final class NetworkLab: @unchecked Sendable {
    let name: String
    let hostAddress: String
    let viewerAddress: String

    static let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/interop/netns.py").path

    /// Whether this machine can make namespaces (root, ip, tc tbf, nft); the reason when it cannot.
    static func check() -> (Bool, String) {
        let (status, output) = run(["check"])
        return (status == 0, output)
    }

    init(_ label: String) throws {
        name = "lr\(label)\(getpid() % 10_000)"
        let (status, output) = Self.run(["create", name, "--owner", "\(getpid())"])
        guard status == 0, let json = Self.lastJSON(output),
              let host = json["hostAddress"] as? String, let viewer = json["viewerAddress"] as? String else {
            throw TestFailure("netns.py create \(name) failed (\(status)): \(output)")
        }
        hostAddress = host
        viewerAddress = viewer
    }

    /// Throttles what the viewer receives (`400kbit`), or lifts the limit with nil.
    func shape(_ rate: String?) throws {
        let (status, output) = Self.run(["shape", name] + (rate.map { ["--rate", $0] } ?? ["--off"]))
        guard status == 0 else { throw TestFailure("netns.py shape \(name) \(rate ?? "off"): \(output)") }
    }

    /// Drops this percentage of UDP datagrams towards the viewer, or none with nil.
    func loss(_ percent: Int?) throws {
        let (status, output) = Self.run(["loss", name] + (percent.map { ["--percent", "\($0)"] } ?? ["--off"]))
        guard status == 0 else { throw TestFailure("netns.py loss \(name): \(output)") }
    }

    /// A NAT rebinding: the viewer's datagrams to `mediaPort` reach the server from source port `port` from now on,
    /// and the old mapping is gone.
    func rebind(port: Int, mediaPort: Int) throws {
        let (status, output) = Self.run(["rebind", name, "--port", "\(port)", "--media-port", "\(mediaPort)"])
        guard status == 0 else { throw TestFailure("netns.py rebind \(name): \(output)") }
    }

    func destroy() {
        _ = Self.run(["destroy", name])
    }

    /// A command line run on the viewer host.
    func command(_ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", name] + arguments
    }

    private static func run(_ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            return (-1, "\(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private static func lastJSON(_ output: String) -> [String: Any]? {
        let line = output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}
