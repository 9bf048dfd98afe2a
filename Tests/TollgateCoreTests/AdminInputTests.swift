import Testing
@testable import TollgateCore

/// Admin input is data: no `${...}` is looked up, nothing a payload says makes the gateway read a
/// file on its host, and text that resembles the config loader's placeholders never traps.
@Suite struct AdminInputTests {
    static let adminKey = "tg-admin-input-0123456789abcdef"

    func admin(_ h: GatewayHarness, _ method: String, _ path: String, _ body: String = "") async throws -> TestResponse {
        try await h.client.fetch(port: h.port, method: method, path: path, headers: [("authorization", "Bearer \(Self.adminKey)")],
                                 body: Array(body.utf8))
    }

    @Test func aChannelBodyIsTakenLiterally() throws {
        let body = #"{"provider":"openai","base_url":"https://${HOME}.example/v1","models":["${A:-m}","__tollgate_env_0","__tollgate_env_0__"],"credentials":{"api_key":"${OPENAI_API_KEY}"}}"#
        let channel = try ManagedObjects.channel(named: "c1", body: Array(body.utf8))
        #expect(channel.models == ["${A:-m}", "__tollgate_env_0", "__tollgate_env_0__"])
        #expect(channel.baseURL == "https://${HOME}.example/v1")
        #expect(channel.credentials["api_key"] == "${OPENAI_API_KEY}")
    }

    @Test func aPlaceholderLookalikeInAConfigFileIsAnErrorNotATrap() {
        for text in [#"channels: [{name: a, provider: mock, models: ["${A:-m}", "__tollgate_env_0"]}]"#,
                     #"channels: [{name: a, provider: mock, models: ["${A:-m}", "__tollgate_env_0_"]}]"#,
                     #"channels: [{name: a, provider: mock, models: ["${A:-m}", "__tollgate_env_7__"]}]"#,
                     #"channels: [{name: a, provider: mock, models: ["${A:-m}", "__tollgate_env_99999999999999999999__"]}]"#] {
            #expect(throws: ConfigError.self) { try ConfigLoader.parse(text, file: "t.yaml") }
        }
        // The lifted placeholder itself still works.
        let config = try? ConfigLoader.parse(#"channels: [{name: a, provider: mock, models: ["${A:-m}x"]}]"#, file: "t.yaml")
        #expect(config?.channels.first?.models == ["mx"])
    }

    @Test func credentialsAreInlineNeverAHostPath() throws {
        for field in ["service_account_file", "api_key_file", "x_file"] {
            let body = #"{"provider":"vertex","models":["g"],"credentials":{"\#(field)":"/etc/passwd"}}"#
            #expect(throws: GatewayError.self) { try ManagedObjects.channel(named: "v", body: Array(body.utf8)) }
        }
        let account = #"{"type":"service_account","client_email":"a@b.example","private_key":"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"}"#
        let inline = try ManagedObjects.channel(named: "v", body: Array(#"{"provider":"vertex","models":["g"],"credentials":{"service_account":\#(account)}}"#.utf8))
        let json = try #require(inline.credentials["service_account_json"])
        #expect(try JSONParser.parse(Array(json.utf8))["client_email"]?.stringValue == "a@b.example")
        #expect(inline.credentials["service_account"] == nil)
        for bad in [#""credentials":{"service_account":5}"#, #""credentials":"k""#, #""credentials":{"api_key":["k"]}"#] {
            #expect(throws: GatewayError.self) { try ManagedObjects.channel(named: "v", body: Array(#"{"provider":"vertex","models":["g"],\#(bad)}"#.utf8)) }
        }
    }

    @Test func theBodyThatCrashedTheGatewayIsStoredAndServed() async throws {
        let h = try await GatewayHarness.start("admin_key: \(Self.adminKey)\nchannels:\n  - { name: m, provider: mock, models: [mock-echo] }")
        defer { Task { await h.stop() } }
        let put = try await admin(h, "PUT", "/admin/channels/c1",
                                  #"{"provider":"mock","models":["${A:-m}","__tollgate_env_0"]}"#)
        #expect(put.status == 200, "\(put.text)")
        let served = try await h.chat(#"{"model":"__tollgate_env_0","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(served.status == 200 && served.header("x-tollgate-channel") == "c1")
        #expect(try await h.chat(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#).status == 404)
    }

    @Test func priceSyncFromTheAPITakesHTTPURLsOnly() async throws {
        let h = try await GatewayHarness.start("admin_key: \(Self.adminKey)")
        defer { Task { await h.stop() } }
        for source in ["/etc/passwd", "file:///etc/passwd", "prices.json", "ftp%3A%2F%2Fx"] {
            let answer = try await admin(h, "POST", "/admin/prices/sync?from=\(source)")
            #expect(answer.status == 400 && answer.text.contains("invalid_from"), "\(source): \(answer.text)")
        }
    }

    @Test func exchangeRateNamesAreISOCodes() {
        #expect(throws: GatewayError.self) { try ManagedObjectsAPI.exchangeRate(named: "ÄÖÜ", body: Array(#"{"rate":1}"#.utf8)) }
        #expect(throws: GatewayError.self) { try ManagedObjectsAPI.exchangeRate(named: "CNY", body: Array(#"{"rate":0}"#.utf8)) }
        #expect((try? ManagedObjectsAPI.exchangeRate(named: "CNY", body: Array(#"{"rate":7.2}"#.utf8))) == 7_200_000_000)
    }
}
