import CDatagram
import Glibc
import NIOCore

/// The media port's UDP socket, bound here and handed to NIO, which reads it (recvmmsg) and writes STUN, DTLS and
/// RTCP on it; media goes out through the same descriptor in `DatagramBatch`es.
public enum MediaSocket {
    /// A non-blocking UDP socket bound to `host:port`, with 4 MiB buffers each way (a keyframe to a few hundred
    /// viewers is megabytes in a burst). With `reusePort`, several sockets (one per shard) share the port.
    public static func bind(host: String, port: Int, reusePort: Bool = false) throws -> CInt {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        func set(_ option: CInt, _ value: CInt) {
            var value = value
            _ = setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<CInt>.size))
        }
        set(SO_REUSEADDR, 1)
        if reusePort { set(SO_REUSEPORT, 1) }
        set(SO_RCVBUF, 4 << 20)
        set(SO_SNDBUF, 4 << 20)
        let bound = address.withSockAddr { Glibc.bind(descriptor, $0, socklen_t($1)) }
        guard bound == 0 else {
            let error = IOError(errnoCode: errno, reason: "bind \(host):\(port)")
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Closes a descriptor `bind` returned that was not handed to NIO.
    public static func close(_ descriptor: CInt) {
        _ = Glibc.close(descriptor)
    }
}

/// Memory hints for the fan-out loop, which reads the next viewers' state while it seals for this one.
public enum MemoryHint {
    /// Asks for the `bytes` from `address` to be brought into the cache. A prefetch never faults, so an address
    /// that is stale by then costs nothing but the hint.
    @inlinable @inline(__always)
    public static func prefetch(_ address: UnsafeRawPointer, bytes: Int) {
        lr_prefetch(address, UInt32(bytes))
    }
}
