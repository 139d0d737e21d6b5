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

    @Test(arguments: ["/static/..%2FPackage.swift", "/static/../Package.swift", "/static/missing.js", "/static/%2e%2e%2fMakefile"])
    func onlyKnownAssetsAreServed(_ path: String) async throws {
        let node = try await TestServer()
        let result = try await node.request("GET", path, admin: false)
        #expect(result.status == 404)
        #expect(!String(decoding: result.body, as: UTF8.self).contains("swift-tools-version"))
        try await node.stop()
    }
}
