import XCTest

final class WebRTCTransportTestsPlaceholder: XCTestCase {}
