#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// Why a loopback listener could not be opened, in the system's words.
public struct ListenFailure: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// A listening TCP socket on 127.0.0.1:`port` (0: the kernel chooses): its descriptor and
/// the port it got. The simulator's event stream and TLS doors, and `switchboard metrics
/// --listen`, listen this way.
public func loopbackListener(port: UInt16) throws(ListenFailure) -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, streamSocket, 0)
    guard fd >= 0 else { throw ListenFailure(reason: String(cString: strerror(errno))) }
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    var address = loopbackAddress(port)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 128) == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw ListenFailure(reason: reason)
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return (fd, UInt16(bigEndian: address.sin_port))
}

/// 127.0.0.1:`port` as a socket address.
public func loopbackAddress(_ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}
