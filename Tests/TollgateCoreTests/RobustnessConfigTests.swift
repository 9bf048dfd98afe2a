import Testing
@testable import TollgateCore

/// The settings that bound slow clients and shutdown.
@Suite struct RobustnessConfigTests {
    @Test func readsShutdownGraceAndRequestTimeout() throws {
        let config = try ConfigLoader.parse("shutdown_grace: 3s\nlimits: { request_timeout: 1500ms }\n", file: "t.yaml")
        #expect(config.shutdownGrace == .seconds(3))
        #expect(config.limits.requestTimeout == .milliseconds(1500))
    }

    @Test func defaultsBoundSlowClientsAndShutdown() {
        let config = GatewayConfig()
        #expect(config.shutdownGrace == .seconds(10))
        #expect(config.limits.requestTimeout == .seconds(60))
    }

    @Test func refusesAGraceThatIsNotADuration() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("shutdown_grace: soon\n", file: "t.yaml") }
    }

    // Overflowed the millisecond product and crashed `check-config` and `serve`.
    @Test func refusesDurationsTooLargeForTheClock() {
        for text in ["9999999999999999h", "99999999999999s", "9223372036854775807", "367d", "400000h"] {
            #expect(ConfigNode.parseDuration(text) == nil, "\(text)")
        }
        #expect(ConfigNode.parseDuration("24h") == .seconds(86_400))
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("upstream: {read_timeout: 9999999999999999h}\n", file: "t.yaml") }
    }
}
