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
}
