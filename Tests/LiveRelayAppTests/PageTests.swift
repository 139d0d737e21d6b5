import Foundation
import Testing
@testable import LiveRelayApp

@Suite("Browser pages")
struct PageTests {
    @Test func viewerPageAndAssetsAreServed() async throws {
        let node = try await TestServer()
        let page = try await node.request("GET", "/watch/demo", admin: false)
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(String(decoding: page.body, as: UTF8.self).contains("/static/watch.js"))

        let script = try await node.request("GET", "/static/watch.js", admin: false)
        #expect(script.status == 200)
        #expect(script.headers["content-type"]?.hasPrefix("text/javascript") == true)
        #expect(script.headers["etag"] != nil)

        let index = try await node.request("GET", "/", admin: false)
        #expect(index.status == 200)
        try await node.stop()
    }

    @Test(arguments: ["/static/..%2FPackage.swift", "/static/../Package.swift", "/static/missing.js", "/static/%2e%2e%2fMakefile",
                      "/static/vendor/..%2F..%2FPackage.swift", "/static/vendor/..%2Fwatch.js", "/static/vendor/missing.js"])
    func onlyKnownAssetsAreServed(_ path: String) async throws {
        let node = try await TestServer()
        let result = try await node.request("GET", path, admin: false)
        #expect(result.status == 404)
        #expect(!String(decoding: result.body, as: UTF8.self).contains("swift-tools-version"))
        try await node.stop()
    }

    @Test func theModeratorPageAndTheStartPagesListingAreServed() async throws {
        let node = try await TestServer()
        let page = try await node.request("GET", "/moderate/demo", admin: false)
        #expect(page.status == 200)
        #expect(String(decoding: page.body, as: UTF8.self).contains("/static/moderate.js"))
        #expect(try await node.request("GET", "/static/moderate.js", admin: false).status == 200)

        _ = try await node.createStream("open-stage")
        _ = try await node.createStream("backroom", private: true)
        let listing = try await node.request("GET", "/api/public/streams", admin: false)
        #expect(listing.status == 200)
        let names = (listing.json["streams"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names == ["open-stage"], "public streams only: \(names)")
        let first = (listing.json["streams"] as? [[String: Any]])?.first
        #expect(first?["live"] as? Bool == false)
        #expect(first?["watchURL"] as? String == "/watch/open-stage")

        // A private stream's status: its viewer token reads it (the watch page needs that), without keys.
        let viewer = try await node.token("backroom", role: "viewer", sub: "v", name: "V")
        let read = try await node.call("GET", "/api/streams/backroom", token: viewer)
        #expect(read.status == 200)
        #expect(read.json["publishKey"] == nil && read.json["private"] as? Bool == true)
        #expect(try await node.call("GET", "/api/streams/backroom").status == 404)
        try await node.stop()
    }
}
