import Foundation
import OttoContracts

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// File operations that never leave a half-written file behind: write a temporary file in the same
/// directory, fsync it, rename it over the target, then fsync the directory so the rename itself is durable.
public enum AtomicFile {
    public struct WriteError: Error, LocalizedError, Sendable {
        public let path: String
        public let operation: String
        public let errnoCode: Int32

        public var errorDescription: String? {
            "cannot \(operation) \(path): \(String(cString: strerror(errnoCode)))"
        }
    }

    /// Writes `bytes` to `path` atomically with the given permission bits. A symbolic link (a config file kept
    /// with the operator's dotfiles) stays a link: its target is what is replaced, by a temporary file beside it.
    public static func write<Bytes: Collection<UInt8>>(
        _ bytes: Bytes,
        to linkOrPath: String,
        permissions: mode_t = 0o644
    ) throws(WriteError) {
        let path = resolvingLinks(linkOrPath)
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary = "\(directory)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw WriteError(path: temporary, operation: "create", errnoCode: errno) }
        var failure: WriteError?
        let contiguous = Array(bytes)
        contiguous.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = WriteError(path: temporary, operation: "write", errnoCode: errno)
                    return
                }
                offset += written
            }
        }
        // The umask may have narrowed the mode; the caller's permissions are what the file must have.
        if failure == nil && fchmod(fd, permissions) != 0 {
            failure = WriteError(path: temporary, operation: "chmod", errnoCode: errno)
        }
        if failure == nil && fsync(fd) != 0 {
            failure = WriteError(path: temporary, operation: "fsync", errnoCode: errno)
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw WriteError(path: path, operation: "replace", errnoCode: code)
        }
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// The file a path names after following symbolic links, or the path itself if it does not exist yet.
    public static func resolvingLinks(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Removes temporary files that a write of `path` left behind when its process was killed mid-way (their
    /// names carry the writer's pid; a file of a process still running is left alone). Returns what was removed.
    @discardableResult
    public static func removeLeftovers(of linkOrPath: String) -> [String] {
        let path = resolvingLinks(linkOrPath)
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
        else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let pidText = name.dropFirst(prefix.count).prefix { $0 != "-" }
            if let pid = pid_t(pidText), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM { continue }
            let leftover = directory + "/" + name
            if unlink(leftover) == 0 { removed.append(leftover) }
        }
        return removed
    }

    /// Creates a directory and its parents; a directory created here gets `permissions`.
    public static func createDirectory(_ path: String, permissions: mode_t = 0o755) throws(WriteError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw WriteError(path: path, operation: "create directory (a file is in the way)", errnoCode: ENOTDIR)
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectory(parent, permissions: 0o755) }
        if mkdir(path, permissions) != 0 && errno != EEXIST {
            throw WriteError(path: path, operation: "create directory", errnoCode: errno)
        }
        _ = chmod(path, permissions)
    }

    /// Flushes a file that was written by someone else (SQLite's `VACUUM INTO`) to the disk.
    public static func syncFile(_ path: String) throws(WriteError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw WriteError(path: path, operation: "open", errnoCode: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw WriteError(path: path, operation: "fsync", errnoCode: errno) }
    }

    /// Reads a whole file, or nil if it does not exist.
    public static func readIfPresent(_ path: String) throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Identity of a file's current contents as the file system sees it: changes whenever the file is replaced or
    /// rewritten, so a reader can skip re-parsing a file that did not change.
    public struct Stamp: Equatable, Sendable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
    }

    public static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
            let modified = info.st_mtimespec
        #else
            let modified = info.st_mtim
        #endif
        return Stamp(
            device: UInt64(info.st_dev),
            inode: UInt64(info.st_ino),
            size: Int64(info.st_size),
            modifiedSeconds: modified.tv_sec,
            modifiedNanoseconds: modified.tv_nsec
        )
    }
}
