import Foundation
import Testing
import TollgatePluginABI
import TollgatePluginKit
import TollgateShared

/// The kit's Base64 and percent-encoding, shared by the Vertex, Bedrock and Gemini plugins.
@Suite struct Base64Tests {
    static let vectors = [("", "", ""), ("f", "Zg==", "Zg"), ("fo", "Zm8=", "Zm8"), ("foo", "Zm9v", "Zm9v"),
                          ("foob", "Zm9vYg==", "Zm9vYg"), ("fooba", "Zm9vYmE=", "Zm9vYmE"), ("foobar", "Zm9vYmFy", "Zm9vYmFy")]

    /// RFC 4648 §10, standard (padded) and base64url (unpadded), both ways.
    @Test func matchesTheRFC4648Vectors() {
        for (plain, padded, url) in Self.vectors {
            #expect(Base64.encode(Array(plain.utf8)) == padded)
            #expect(Base64.urlEncoded(Array(plain.utf8)) == url)
            #expect(Base64.decode(padded.utf8) == Array(plain.utf8))
            #expect(Base64.decode(url.utf8) == Array(plain.utf8), "padding may be omitted")
        }
    }

    @Test func urlAlphabetOnlyWhenLenient() {
        #expect(Base64.urlEncoded([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Base64.decode("-_-_".utf8) == nil)
        #expect(Base64.decode("-_-_".utf8, lenient: true) == [0xFB, 0xFF, 0xBF])
        #expect(Base64.decode("+/+/".utf8, lenient: true) == [0xFB, 0xFF, 0xBF])
    }

    /// PEM bodies wrap at 64 columns and end with a line break.
    @Test func lenientSkipsWhiteSpace() {
        #expect(Base64.decode("Zm9v\nYmFy".utf8, lenient: true) == Array("foobar".utf8))
        #expect(Base64.decode("Zm9vYg==\r\n".utf8, lenient: true) == Array("foob".utf8))
        #expect(Base64.decode("Zm9v YmFy".utf8) == nil, "strict refuses white space")
    }

    @Test func roundTripsEveryLengthAndAgreesWithFoundation() {
        var bytes: [UInt8] = []
        for n in 0..<70 {
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString(), "\(n) bytes")
            #expect(Base64.decode(encoded.utf8) == bytes)
            #expect(Base64.decode(Base64.urlEncoded(bytes).utf8, lenient: true) == bytes)
            bytes.append(UInt8(truncatingIfNeeded: n &* 37 &+ 251))
        }
    }

    @Test func refusesMalformedText() {
        // A lone symbol, a character outside the alphabet, data after padding, padding that does
        // not finish the quantum, too much padding.
        for bad in ["e", "Zm9vY", "e30=!", "Zm9v!", "e3=0", "ab=c", "Zg==Zg==", "====", "a===", "e30==", "Zm9vYg="] {
            #expect(Base64.decode(bad.utf8) == nil, "\(bad)")
            #expect(Base64.decode(bad.utf8, lenient: true) == nil, "\(bad), lenient")
        }
        #expect(Base64.decode([0x5A, 0x6D, 0x00, 0x76]) == nil, "a NUL byte")
        #expect(Base64.decode([0x5A, 0x6D, 0xC3, 0xA9]) == nil, "non-ASCII bytes")
        #expect(Base64.decode("".utf8) == [])
    }
}

@Suite struct PercentEncodingTests {
    @Test func keepsUnreservedAndEncodesTheRestAsUpperCaseHex() {
        #expect(PercentEncoding.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(PercentEncoding.encode("a b/c?d=e&f+g%") == "a%20b%2Fc%3Fd%3De%26f%2Bg%25")
        #expect(PercentEncoding.encode("é✓") == "%C3%A9%E2%9C%93")
        #expect(PercentEncoding.encode("") == "")
    }

    @Test func keepsWhatTheCallerNames() {
        #expect(PercentEncoding.encode("models/a b:c", keeping: [UInt8(ascii: "/")]) == "models/a%20b%3Ac")
        #expect(PercentEncoding.encode("sa@p.iam", keeping: [UInt8(ascii: "@")]) == "sa@p.iam")
    }
}

@Suite struct ConditionLockTests {
    /// The lock the kit's export table and Vertex's token cache share: `wait` gives the lock up
    /// until `broadcast`, and `withLock` rethrows the body's typed error with the lock released.
    @Test func waitsForABroadcastAndReleasesOnThrow() throws {
        struct Stop: Error {}
        let lock = ConditionLock()
        #expect(throws: Stop.self) { try lock.withLock { () throws(Stop) in throw Stop() } }
        final class Flag: @unchecked Sendable { var ready = false }  // guarded by `lock`
        let flag = Flag()
        let thread = Thread {
            lock.withLock { flag.ready = true }
            lock.broadcast()
        }
        lock.lock()
        thread.start()
        while !flag.ready { lock.wait() }
        lock.unlock()
        #expect(lock.withLock { flag.ready })
    }
}

@Suite struct ByteSearchTests {
    @Test func findsTheFirstOccurrenceOrNothing() {
        func find(_ needle: String, _ haystack: String) -> Int? { ByteSearch.find(Array(needle.utf8), in: Array(haystack.utf8)) }
        #expect(find("://", "https://h/p://") == 5)
        #expect(find("claude-3-5-haiku", "us.anthropic.claude-3-5-haiku-20241022-v1:0") == 13)
        #expect(find("abc", "xxabc") == 2 && find("abc", "abc") == 0)
        #expect(find("abd", "abcabc") == nil && find("abcd", "abc") == nil && find("", "abc") == nil && find("a", "") == nil)
    }
}

/// Token counts cross the ABI in `tollgate_type_usage`: each count in its own field with its
/// presence bit, both ways (the core writes it for the billing plugin, plugins write it back).
@Suite struct UsageABITests {
    @Test func everyCountCrossesInItsOwnFieldAndBack() {
        var usage = TokenUsage(prompt: 11, completion: 12, cacheRead: 13, cacheCreation: 14, reasoning: 18, estimated: true)
        usage.cacheCreation1h = 15
        usage.audioPrompt = 16
        usage.audioCompletion = 17
        var c = tollgate_type_usage()
        usage.write(into: &c)
        #expect([c.prompt_tokens, c.completion_tokens, c.cache_read_tokens, c.cache_creation_tokens, c.cache_creation_1h_tokens,
                  c.audio_prompt_tokens, c.audio_completion_tokens, c.reasoning_tokens] == [11, 12, 13, 14, 15, 16, 17, 18])
        #expect(c.fields == TOLLGATE_USAGE_PROMPT | TOLLGATE_USAGE_COMPLETION | TOLLGATE_USAGE_CACHE_READ | TOLLGATE_USAGE_CACHE_CREATION
                 | TOLLGATE_USAGE_CACHE_CREATION_1H | TOLLGATE_USAGE_AUDIO_PROMPT | TOLLGATE_USAGE_AUDIO_COMPLETION | TOLLGATE_USAGE_REASONING)
        #expect(c.flags & UInt32(TOLLGATE_USAGE_FLAG_ESTIMATED) != 0)
        #expect(TokenUsage(c) == usage)
    }

    @Test func aCountNotReportedStaysAbsentAndIsNeverCleared() {
        var c = tollgate_type_usage()
        c.cache_read_tokens = 99  // set, but its bit is not: not a count
        TokenUsage(prompt: 5).write(into: &c)
        #expect(c.fields == TOLLGATE_USAGE_PROMPT)
        let read = TokenUsage(c)
        #expect(read.prompt == 5 && read.cacheRead == nil && read.completion == nil && !read.estimated)
        TokenUsage(completion: 3).write(into: &c)  // a second writer adds its count, the first stays
        #expect(TokenUsage(c) == TokenUsage(prompt: 5, completion: 3))
    }
}
