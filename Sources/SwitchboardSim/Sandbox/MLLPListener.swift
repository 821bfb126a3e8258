import FlyingFox
import FlyingSocks
import Foundation
import SwitchboardEHR

/// Accepts MLLP connections on 127.0.0.1 and answers each framed message with the
/// ACK from `answer`, in order, on the same connection.
final class MLLPListener: Sendable {
    private let socket: Socket
    private let task: Locked<Task<Void, Never>?> = Locked(nil)
    private let connections = Locked([Int32: AsyncSocket]())
    let port: UInt16

    init(port: UInt16, answer: @escaping @Sendable (String) async -> String) async throws {
        socket = try Socket(domain: AF_INET, type: .stream)
        try socket.setValue(true, for: .localAddressReuse)
        try socket.bind(to: .inet(ip4: "127.0.0.1", port: port))
        try socket.listen()
        guard case .ip4(_, let chosen) = try socket.sockname() else { throw SocketError.unsupportedAddress }
        self.port = chosen
        let pool = HTTPServer.defaultPool()
        try await pool.prepare()
        let listening = try AsyncSocket(socket: socket, pool: pool)
        let connections = self.connections
        task.withLock { $0 = Task {
            let polling = Task { try? await pool.run() }
            defer { polling.cancel() }
            await withTaskGroup(of: Void.self) { group in
                while !Task.isCancelled, let client = try? await listening.accept() {
                    let fd = client.socket.file.rawValue
                    connections.withLock { $0[fd] = client }
                    group.addTask {
                        defer { connections.withLock { $0[fd] = nil }; try? client.close() }
                        var decoder = MLLPDecoder()
                        while !Task.isCancelled, let bytes = try? await client.read(atMost: 65536), !bytes.isEmpty {
                            for frame in decoder.feed(bytes) {
                                let ack = await answer(String(decoding: frame, as: UTF8.self))
                                guard (try? await client.write(Data(MLLP.frame(ack)))) != nil else { return }
                            }
                        }
                    }
                }
                group.cancelAll()
            }
        } }
    }

    /// Stops accepting and drops every open connection, as a crashed interface engine would.
    func close() {
        try? socket.close()
        task.withLock { $0?.cancel(); $0 = nil }
        connections.withLock { open in
            for client in open.values { try? client.close() }
            open.removeAll()
        }
    }
}
