import Foundation
import Glibc
import SwitchboardEHR
import SwitchboardTesting
import Testing

/// An MLLP receiver on 127.0.0.1 that answers each message as `answer` says.
private final class MLLPPeer: @unchecked Sendable {
    enum Answer { case ack(HL7Acknowledgment.Code, String?), ackFor(String), silence, closeAfterAck }

    let port: UInt16
    let accepted = Shared(0)
    private let listener: Int32
    private let answer: @Sendable (HL7Message) -> Answer

    init(answer: @escaping @Sendable (HL7Message) -> Answer) throws {
        self.answer = answer
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                guard bind(fd, sa, length) == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
                getsockname(fd, sa, &length)
            }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in acceptLoop() }.start()
    }

    /// The accept loop closes the socket: closing it here could hand its number to another
    /// test's socket before the loop's next `accept`.
    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { close(listener); return }
            accepted.update { $0 += 1 }
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var decoder = MLLPDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return }
            for frame in decoder.feed(buffer[..<n]) {
                guard let message = try? HL7Message(parsing: String(decoding: frame, as: UTF8.self)) else { return }
                let reply: HL7Acknowledgment
                switch answer(message) {
                case .silence: continue
                case .ack(let code, let text):
                    reply = HL7Acknowledgment(code: code, acknowledgedControlID: message.controlID, text: text,
                                              errorCode: code == .accept ? nil : "206")
                case .ackFor(let other): reply = HL7Acknowledgment(code: .accept, acknowledgedControlID: other)
                case .closeAfterAck:
                    let bytes = MLLP.frame(HL7Acknowledgment(code: .accept, acknowledgedControlID: message.controlID)
                        .message(answering: message, controlID: "ack", at: 0))
                    _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    return
                }
                let bytes = MLLP.frame(reply.message(answering: message, controlID: "ack-\(message.controlID)", at: 0))
                _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }
}

private func message(_ controlID: String) -> HL7Message {
    let endpoints = HL7Endpoints(sendingApplication: "SWITCHBOARD", sendingFacility: "CLINIC",
                                 receivingApplication: "EHR", receivingFacility: "CLINIC")
    var sch = HL7Segment("SCH", [])
    sch[1] = HL7Field(controlID)
    return HL7Message(type: "SIU", event: "S12", structure: "SIU_S12", controlID: controlID, at: 1_795_599_000_000,
                      endpoints: endpoints, body: [sch])
}

@Suite struct MLLPClientTests {
    @Test func acceptAndErrorAcksAreReturned() async throws {
        let peer = try MLLPPeer { $0.controlID == "m2" ? .ack(.error, "slot already booked") : .ack(.accept, nil) }
        defer { peer.stop() }
        let client = MLLPClient(host: "127.0.0.1", port: peer.port)
        let first = try await client.send(message("m1"))
        #expect(first.ack.code == .accept)
        #expect(first.ack.acknowledgedControlID == "m1")
        #expect(first.latencyMs < 1000)
        let second = try await client.send(message("m2"))
        #expect(second.ack.code == .error)
        #expect(second.ack.text == "slot already booked")
        #expect(second.ack.errorCode == "206")
        #expect(peer.accepted.current == 1)
    }

    @Test func peerClosingAnIdleConnectionMeansReconnect() async throws {
        let peer = try MLLPPeer { _ in .closeAfterAck }
        defer { peer.stop() }
        let client = MLLPClient(host: "127.0.0.1", port: peer.port)
        #expect(try await client.send(message("m1")).ack.code == .accept)
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await client.send(message("m2")).ack.code == .accept)
        #expect(peer.accepted.current == 2)
    }

    @Test func missingAckTimesOutAndTheNextSendReconnects() async throws {
        let peer = try MLLPPeer { $0.controlID == "quiet" ? .silence : .ack(.accept, nil) }
        defer { peer.stop() }
        let client = MLLPClient(host: "127.0.0.1", port: peer.port, ackTimeout: .milliseconds(300))
        let started = ContinuousClock.now
        do {
            _ = try await client.send(message("quiet"))
            Issue.record("expected a timeout")
        } catch {
            guard case .timedOut = error else { Issue.record("got \(error)"); return }
            #expect(error.isRetryable)
        }
        // The point is that it gives up instead of hanging; the bound is loose because the
        // machine is shared (a timed assertion tighter than this fails under load).
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(try await client.send(message("m3")).ack.code == .accept)
        #expect(peer.accepted.current == 2)
    }

    @Test func ackForAnotherMessageIsAMismatch() async throws {
        let peer = try MLLPPeer { _ in .ackFor("someone-else") }
        defer { peer.stop() }
        let client = MLLPClient(host: "127.0.0.1", port: peer.port)
        await #expect(throws: MLLPError.ackMismatch(expected: "m1", got: "someone-else")) {
            _ = try await client.send(message("m1"))
        }
    }

    @Test func nothingListeningIsCouldNotConnect() async throws {
        let peer = try MLLPPeer { _ in .ack(.accept, nil) }
        let port = peer.port
        peer.stop()
        let client = MLLPClient(host: "127.0.0.1", port: port)
        do {
            _ = try await client.send(message("m1"))
            Issue.record("expected an error")
        } catch {
            guard case .couldNotConnect = error else { Issue.record("got \(error)"); return }
        }
    }
}
