import Glibc

/// Runs a short-lived tool (`openssl`, `cc`, `python3`) for fixtures. Foundation's `Process.run`
/// is not used: on Linux it crashed the test process (a bad `memcpy` inside `run()`) while the
/// in-process gateways held over a thousand descriptors open. This is plain `posix_spawnp` with
/// three pipes, and every other descriptor closed in the child.
public enum Subprocess {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// Runs `executable` (looked up on PATH) with `input` on stdin; its exit status and outputs.
    public static func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> Output {
        _ = ignoreBrokenPipes
        let stdin = try pipe(), stdout = try pipe(), stderr = try pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr.write, 2)
        closeTheRest?(&actions, 3)

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, nil, argv + [nil], environ)
        for fd in [stdin.read, stdout.write, stderr.write] { close(fd) }
        guard spawned == 0 else {
            for fd in [stdin.write, stdout.read, stderr.read] { close(fd) }
            throw Failure(description: "\(executable): cannot start (errno \(spawned))")
        }
        // Write stdin on a thread of its own while this one drains both outputs, so no pipe fills.
        let writer = Writer(fd: stdin.write, bytes: input)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { raw in
            Unmanaged<Writer>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, Unmanaged.passRetained(writer).toOpaque())
        if started != 0 { Unmanaged.passUnretained(writer).release(); writer.run() }
        let (out, err) = drain(stdout.read, stderr.read)
        if started == 0 { pthread_join(thread, nil) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: exit, stdout: out, stderr: err)
    }

    /// Like `run`, but throws (with stderr) unless the tool exits 0; its stdout.
    public static func checked(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        let output = try run(executable, arguments, input: input)
        guard output.status == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(output.status): "
                + String(decoding: output.stderr, as: UTF8.self))
        }
        return output.stdout
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; hidden from Swift behind
    /// _GNU_SOURCE), so no child holds another test's sockets or pipes.
    private static let closeTheRest: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self) }

    /// A tool that exits without reading all its input must not kill the test process.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Reads both descriptors to their end with poll, then closes them.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var outputs: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while fds.contains(where: { $0.fd >= 0 }) {
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { break }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count > 0 {
                    outputs[index] += buffer[0..<count]
                } else if count == 0 || errno != EINTR {
                    close(fds[index].fd)
                    fds[index].fd = -1
                }
            }
        }
        return (outputs[0], outputs[1])
    }

    private final class Writer {
        let fd: Int32, bytes: [UInt8]
        init(fd: Int32, bytes: [UInt8]) { self.fd = fd; self.bytes = bytes }

        func run() {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { break }
            }
            close(fd)
        }
    }
}
