import Foundation
@testable import VertexPlugin

/// Throwaway keys made once per test run with the `openssl` CLI.
enum Keys {
    /// A 2048-bit RSA key, PKCS#8 PEM (what Google's key files hold).
    static let rsa: String = generate(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    /// A second RSA key, for "another account" and wrong-key checks.
    static let otherRSA: String = generate(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    /// The same RSA key as PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    static let rsaPKCS1: String = convert(rsa, ["pkey", "-traditional"])
    /// The RSA key's public half as PKCS#1 DER (what `d2i_PublicKey(EVP_PKEY_RSA)` reads).
    static let rsaPublicPKCS1DER: [UInt8] = {
        do { return try Tool.openssl(["rsa", "-RSAPublicKey_out", "-outform", "DER"], input: Array(rsa.utf8)) } catch {
            fatalError("openssl failed: \(error)")
        }
    }()
    /// A P-256 key as PKCS#8 (`BEGIN PRIVATE KEY`, but not RSA inside).
    static let ecPKCS8: String = generate(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    /// The same EC key as SEC 1 (`BEGIN EC PRIVATE KEY`).
    static let ecSEC1: String = convert(ecPKCS8, ["pkey", "-traditional"])
    static let ed25519: String = generate(["genpkey", "-algorithm", "ED25519"])
    /// The RSA key encrypted with a passphrase (`BEGIN ENCRYPTED PRIVATE KEY`).
    static let rsaEncrypted: String = convert(rsa, ["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:secret"])

    private static func generate(_ arguments: [String]) -> String {
        do { return try Tool.opensslText(arguments) } catch { fatalError("openssl failed: \(error)") }
    }

    private static func convert(_ pem: String, _ arguments: [String]) -> String {
        do { return try Tool.opensslText(arguments, input: pem) } catch { fatalError("openssl failed: \(error)") }
    }

    /// A service account around `pem`, as a key file would describe it.
    static func account(pem: String = rsa, email: String = "gateway@acme-prod.iam.gserviceaccount.com",
                        keyID: String = "0123456789abcdef0123456789abcdef01234567",
                        tokenURI: String = "http://127.0.0.1:9/token") -> ServiceAccount {
        ServiceAccount(projectID: "acme-prod", privateKeyID: keyID, privateKeyPEM: pem, clientEmail: email, tokenURI: tokenURI)
    }

    static func signer(pem: String = rsa, email: String = "gateway@acme-prod.iam.gserviceaccount.com",
                       tokenURI: String = "http://127.0.0.1:9/token") -> JWTSigner {
        do { return try JWTSigner(account: account(pem: pem, email: email, tokenURI: tokenURI)) } catch {
            fatalError("fixture key refused: \(error.message)")
        }
    }
}
