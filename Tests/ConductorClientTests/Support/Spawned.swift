import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with `posix_spawn`, its stdout and stderr on pipes.
///
/// Not Foundation's `Process`: on Linux with Swift 6.3.1 its `run()` sometimes crashes the whole test run with a
/// bad read while it lists `/proc/self/fd` (swift-corelibs-foundation PR #5472, fixed after this toolchain). Like it,
/// the child gets no descriptor of the test process but its stdin, stdout and stderr (glibc's
/// `posix_spawn_file_actions_addclosefrom_np`): a child that kept a simulated node's listening socket would stop
/// that node from restarting on its port.
struct Spawned: Sendable {
    let pid: pid_t
    let stdout: Int32
    let stderr: Int32

    private static let spawning = Mutex(())

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `executable` with `arguments` (not including argv[0]), stdin from /dev/null; a nil `stdout` pipe when
    /// `captureStdout` is false sends it to /dev/null too.
    init(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
        captureStdout: Bool = true, captureStderr: Bool = true
    ) throws {
        var result: (pid_t, Int32, Int32)?
        var problem: String?
        Self.spawning.withLock { _ in
            var out: [Int32] = [-1, -1]
            var err: [Int32] = [-1, -1]
            guard pipe(&out) == 0, pipe(&err) == 0 else {
                problem = "pipe failed: errno \(errno)"
                return
            }
            for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            if captureStdout {
                posix_spawn_file_actions_adddup2(&actions, out[1], 1)
            } else {
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            }
            if captureStderr {
                posix_spawn_file_actions_adddup2(&actions, err[1], 2)
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
            if let closeFrom = Self.addCloseFrom {
                _ = closeFrom(&actions, 3)
            } else {
                for fd in 3..<min(getdtablesize(), 65536) where fcntl(fd, F_GETFD) != -1 {
                    posix_spawn_file_actions_addclose(&actions, fd)
                }
            }
            if let directory {
                guard let addChdir = Self.addChdir else {
                    problem = "posix_spawn_file_actions_addchdir_np is not available"
                    return
                }
                _ = addChdir(&actions, directory)
            }
            // A child of a test thread would inherit its blocked signals; start it with none blocked.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { (s: String) in strdup(s) } + [nil]
            let env = environment ?? Self.currentEnvironment()
            let envp: [UnsafeMutablePointer<CChar>?] = env.map { (pair: (key: String, value: String)) in strdup("\(pair.key)=\(pair.value)") } + [nil]
            defer { for pointer in argv + envp { free(pointer) } }
            var pid: pid_t = 0
            let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            close(out[1])
            close(err[1])
            guard status == 0 else {
                close(out[0])
                close(err[0])
                problem = "posix_spawn \(executable) failed: errno \(status)"
                return
            }
            result = (pid, out[0], err[0])
        }
        guard let result else { throw Failed(description: problem ?? "spawn failed") }
        (pid, stdout, stderr) = result
    }

    /// Reads a pipe to its end on a plain thread (a blocking read must not hold a thread of the test's task pool),
    /// handing each chunk to `chunk`, then closes it and calls `done`.
    static func drain(_ fd: Int32, _ chunk: @escaping @Sendable ([UInt8]) -> Void, done: @escaping @Sendable () -> Void) {
        detach {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                chunk(Array(buffer[0..<count]))
            }
            close(fd)
            done()
        }
    }

    /// Waits for the child on a plain thread; hands over its exit status, or the signal that ended it.
    func onExit(_ exited: @escaping @Sendable (Int32) -> Void) {
        let pid = pid
        Self.detach {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            let signal = status & 0x7f
            exited(signal == 0 ? (status >> 8) & 0xff : signal)
        }
    }

    private static func detach(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        _ = pthread_create(
            &thread, nil,
            { pointer in
                let box = Unmanaged<Box>.fromOpaque(pointer!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        pthread_detach(thread)
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the Glibc module does not import.
    private static let addCloseFrom: AddCloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which the Glibc module does not import.
    private static let addChdir: AddChdir? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }

    private static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { result[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            pointer += 1
        }
        return result
    }
}
