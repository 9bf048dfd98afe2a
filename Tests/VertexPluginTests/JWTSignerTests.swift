import Foundation
import Testing
import TollgatePluginKit
@testable import VertexPlugin

@Suite struct JWTSignerTests {
    static let issuedAt: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z

    /// The three segments of a compact JWS, decoded.
    struct Parts {
        var signingInput: String
        var header: [UInt8]
        var claims: [UInt8]
        var signature: [UInt8]

        init(_ jwt: String) throws {
            let segments = jwt.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            try #require(segments.count == 3)
            for segment in segments {
                #expect(!segment.contains("=") && !segment.contains("+") && !segment.contains("/"), "not base64url: \(segment)")
            }
            signingInput = segments[0] + "." + segments[1]
            header = try #require(Base64.decode(segments[0].utf8, lenient: true))
            claims = try #require(Base64.decode(segments[1].utf8, lenient: true))
            signature = try #require(Base64.decode(segments[2].utf8, lenient: true))
        }
    }

    @Test func headerAndClaimsAreExactlyWhatGoogleExpects() throws {
        let signer = Keys.signer(tokenURI: "https://oauth2.googleapis.com/token")
        let parts = try Parts(try signer.assertion(issuedAt: Self.issuedAt))
        #expect(String(decoding: parts.header, as: UTF8.self)
            == #"{"alg":"RS256","typ":"JWT","kid":"0123456789abcdef0123456789abcdef01234567"}"#)
        let claims = try JSONParser.parse(parts.claims)
        #expect(claims["iss"]?.stringValue == "gateway@acme-prod.iam.gserviceaccount.com")
        #expect(claims["scope"]?.stringValue == "https://www.googleapis.com/auth/cloud-platform")
        #expect(claims["aud"]?.stringValue == "https://oauth2.googleapis.com/token")
        #expect(claims["iat"]?.int64Value == Self.issuedAt)
        #expect(claims["exp"]?.int64Value == Self.issuedAt + 3600)
        #expect(claims.objectValue?.count == 5)
        #expect(parts.signature.count == 256)  // a 2048-bit modulus
    }

    @Test func audienceFollowsTheTokenURIOverride() throws {
        let signer = Keys.signer(tokenURI: "http://127.0.0.1:8123/token")
        let claims = try JSONParser.parse(try Parts(try signer.assertion(issuedAt: Self.issuedAt)).claims)
        #expect(claims["aud"]?.stringValue == "http://127.0.0.1:8123/token")
    }

    @Test func signatureVerifiesWithThePublicKeyAndOnlyOverTheSignedBytes() throws {
        let parts = try Parts(try Keys.signer().assertion(issuedAt: Self.issuedAt))
        let verifier = try #require(RS256Verifier(pkcs1DER: Keys.rsaPublicPKCS1DER))
        #expect(verifier.verify(message: Array(parts.signingInput.utf8), signature: parts.signature))
        #expect(!verifier.verify(message: Array((parts.signingInput + "x").utf8), signature: parts.signature))
        var flipped = parts.signature
        flipped[7] ^= 1
        #expect(!verifier.verify(message: Array(parts.signingInput.utf8), signature: flipped))
    }

    @Test func anotherKeysSignatureDoesNotVerify() throws {
        let parts = try Parts(try Keys.signer(pem: Keys.otherRSA).assertion(issuedAt: Self.issuedAt))
        let verifier = try #require(RS256Verifier(pkcs1DER: Keys.rsaPublicPKCS1DER))
        #expect(!verifier.verify(message: Array(parts.signingInput.utf8), signature: parts.signature))
    }

    /// PKCS#1 v1.5 signatures are deterministic, so the CLI must produce the very same bytes.
    @Test func signatureMatchesTheOpenSSLCommandLine() throws {
        let parts = try Parts(try Keys.signer().assertion(issuedAt: Self.issuedAt))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vertex-jwt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        try Data(Keys.rsa.utf8).write(to: URL(fileURLWithPath: keyPath))
        let cli = try Tool.openssl(["dgst", "-sha256", "-sign", keyPath], input: Array(parts.signingInput.utf8))
        #expect(cli == parts.signature)
    }

    /// An independent JWS implementation (Python's `cryptography`) accepts the token.
    @Test(.enabled(if: Tool.pythonCryptographyAvailable))
    func pythonCryptographyVerifiesTheToken() throws {
        let jwt = try Keys.signer().assertion(issuedAt: Self.issuedAt)
        let script = """
        import base64, json, sys
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        pem, jwt = sys.stdin.read().split("\\n====\\n")
        key = serialization.load_pem_private_key(pem.encode(), password=None).public_key()
        head, body, sig = jwt.strip().split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)
        key.verify(base64.urlsafe_b64decode(pad(sig)), (head + "." + body).encode(), padding.PKCS1v15(), hashes.SHA256())
        print(json.loads(base64.urlsafe_b64decode(pad(head)))["kid"], json.loads(base64.urlsafe_b64decode(pad(body)))["exp"])
        """
        let out = try Tool.run("python3", ["-c", script], input: Array((Keys.rsa + "\n====\n" + jwt).utf8))
        #expect(String(decoding: out, as: UTF8.self) == "0123456789abcdef0123456789abcdef01234567 \(Self.issuedAt + 3600)\n")
    }

    @Test func acceptsPKCS1AndDoubleEscapedNewlines() throws {
        let verifier = try #require(RS256Verifier(pkcs1DER: Keys.rsaPublicPKCS1DER))
        for pem in [Keys.rsaPKCS1, Keys.rsa.replacing("\n", with: "\\n")] {
            let parts = try Parts(try Keys.signer(pem: pem).assertion(issuedAt: Self.issuedAt))
            #expect(verifier.verify(message: Array(parts.signingInput.utf8), signature: parts.signature))
        }
    }

    static func keyError(_ pem: String) -> String? {
        do {
            _ = try JWTSigner(account: Keys.account(pem: pem))
            return nil
        } catch {
            #expect(error.kind == .config)
            return error.message
        }
    }

    @Test func malformedKeysAreRefusedWithAReason() throws {
        let rsa = Keys.rsa
        let body = rsa.components(separatedBy: "\n").filter { !$0.hasPrefix("-----") }.joined(separator: "\n")

        #expect(Self.keyError("not a key") == #"private_key is not a PEM private key (no "-----BEGIN PRIVATE KEY-----" line)"#)
        #expect(Self.keyError(body) == #"private_key is not a PEM private key (no "-----BEGIN PRIVATE KEY-----" line)"#)

        // Cut in the middle: the END line is gone.
        let cut = String(rsa.prefix(rsa.count / 2))
        #expect(Self.keyError(cut) == #"private_key is truncated (no "-----END PRIVATE KEY-----" line)"#)

        // Lines lost from the middle but the armour intact: the DER inside is short.
        var lines = rsa.components(separatedBy: "\n")
        lines.removeSubrange(5..<10)
        #expect(Self.keyError(lines.joined(separator: "\n"))
            == "private_key could not be read as a private key (bad or truncated DER inside the PEM)")

        let badBase64 = rsa.replacingOccurrences(of: "-----BEGIN PRIVATE KEY-----\n", with: "-----BEGIN PRIVATE KEY-----\n!")
        #expect(Self.keyError(badBase64) == "private_key has invalid base64 between its PEM BEGIN and END lines")
        #expect(Self.keyError("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")
            == "private_key has invalid base64 between its PEM BEGIN and END lines")
        #expect(Self.keyError("-----BEGIN PRIVATE KEY\nMIIE\n") == "private_key has a malformed PEM BEGIN line")
    }

    @Test func nonRSAKeysAreRefusedByType() {
        #expect(Self.keyError(Keys.ecPKCS8) == "private_key holds a key of type EC; RS256 needs an RSA key")
        #expect(Self.keyError(Keys.ecSEC1) == "private_key holds a key of type EC; RS256 needs an RSA key")
        #expect(Self.keyError(Keys.ed25519) == "private_key holds a key of type ED25519; RS256 needs an RSA key")
    }

    @Test func otherPEMBlocksAreNamed() {
        #expect(Self.keyError(Keys.rsaEncrypted)
            == #"private_key holds a PEM "ENCRYPTED PRIVATE KEY"; expected "PRIVATE KEY" (encrypted keys are not supported)"#)
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        #expect(Self.keyError(certificate) == #"private_key holds a PEM "CERTIFICATE"; expected "PRIVATE KEY""#)
    }

    @Test func signingFromManyThreadsAtOnceStaysCorrect() throws {
        let signer = Keys.signer()
        let verifier = try #require(RS256Verifier(pkcs1DER: Keys.rsaPublicPKCS1DER))
        let failures = LockedBox(0)
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            guard let jwt = try? signer.assertion(issuedAt: Self.issuedAt + Int64(i)), let parts = try? Parts(jwt),
                  verifier.verify(message: Array(parts.signingInput.utf8), signature: parts.signature)
            else { return failures.update { $0 += 1 } }
        }
        #expect(failures.get() == 0)
    }
}
