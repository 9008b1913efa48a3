import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs programs of the host (`ip`, `iptables`, `qemu-img` ...) for the drivers that change
/// the machine: the QEMU driver and the Linux network dataplane.
public enum HostCommand {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let command: String
        public let status: Int32
        public let output: String
        public var description: String { "`\(command)` exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
    }

    /// Runs `arguments` (looked up in PATH) and returns its standard output; a non-zero
    /// exit throws with what it wrote to standard error.
    @discardableResult
    public static func run(_ arguments: [String], input: Data? = nil) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = input.map { _ in Pipe() }
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin ?? FileHandle.nullDevice
        Self.ignoreBrokenPipes
        let collected = OutputBuffer()
        let readers = DispatchGroup()
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            // Blocking reads to the end on dispatch's threads, not the async pool. Not with
            // readability handlers: libdispatch can crash when their sources are cancelled as
            // the pipes close.
            DispatchQueue.global().async(group: readers) {
                collected.append(out: stdout.fileHandleForReading.readDataToEndOfFile())
            }
            DispatchQueue.global().async(group: readers) {
                collected.append(err: stderr.fileHandleForReading.readDataToEndOfFile())
            }
            if let stdin, let input {
                DispatchQueue.global().async {
                    // A child that exits without reading it all is answered by its status.
                    try? stdin.fileHandleForWriting.write(contentsOf: input)
                    try? stdin.fileHandleForWriting.close()
                }
            }
        }
        await withCheckedContinuation { continuation in readers.notify(queue: .global()) { continuation.resume() } }
        let (out, err) = collected.texts
        guard status == 0 else { throw Failure(command: arguments.joined(separator: " "), status: status, output: err.isEmpty ? out : err) }
        return out
    }

    /// Writing input to a child that has exited must fail the write (EPIPE), not end the
    /// server with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Runs a program that leaves a daemon behind (QEMU's `-daemonize`) and waits for the
    /// foreground process. Not through Foundation's `Process`: it learns of a child's exit
    /// when the last copy of a socket it hands down closes, and a daemon keeps that copy
    /// forever. Here the program inherits no descriptor but its standard ones, and its
    /// output goes to `log`, which a failure's error quotes.
    public static func runDaemon(_ arguments: [String], log: String) async throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // The calling thread blocks and ignores signals the program must not: without this
        // reset a daemon would shrug off SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw Failure(command: arguments.joined(separator: " "), status: -1, output: String(cString: strerror(spawned)))
        }
        let child = pid
        let status: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var status: Int32 = 0
                while waitpid(child, &status, 0) == -1 && errno == EINTR {}
                // WIFEXITED ? WEXITSTATUS : 128 + signal
                continuation.resume(returning: status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + status & 0x7f)
            }
        }
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Failure(command: arguments.joined(separator: " "), status: status, output: output)
        }
    }

    /// Closes every descriptor above the standard ones in the child: with glibc's
    /// `posix_spawn_file_actions_addclosefrom_np` (which Swift's Glibc module does not
    /// export), else one by one as /proc lists them now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    }

    /// Whether `program` is on the PATH (with the sbin directories).
    public static func exists(_ program: String) -> Bool {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }

    private final class OutputBuffer: @unchecked Sendable {
        private let lock = NSLock()
        private var out = Data()
        private var err = Data()

        func append(out data: Data) { lock.withLock { out.append(data) } }
        func append(err data: Data) { lock.withLock { err.append(data) } }
        var texts: (String, String) { lock.withLock { (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self)) } }
    }
}

/// Linux device names as Neutron's Linux bridge agent and os-vif choose them, so the
/// driver that plugs a port and the agent that wires it agree.
public enum LinuxNames {
    public static func bridge(network: String) -> String { "brq" + network.prefix(11) }
    public static func tap(port: String) -> String { "tap" + port.prefix(11) }

    /// Creates the bridge if needed and brings it up.
    public static func ensureBridge(_ name: String) async throws {
        if !FileManager.default.fileExists(atPath: "/sys/class/net/\(name)") {
            do {
                try await HostCommand.run(["ip", "link", "add", "name", name, "type", "bridge"])
            } catch where FileManager.default.fileExists(atPath: "/sys/class/net/\(name)") {
                // created by a concurrent plug
            }
        }
        try await HostCommand.run(["ip", "link", "set", name, "up"])
    }

    public static func deviceExists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: "/sys/class/net/\(name)") }
}
