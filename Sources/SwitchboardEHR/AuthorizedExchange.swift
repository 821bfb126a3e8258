import Foundation
import SwitchboardHTTP

/// The one HTTP exchange both EHR clients (FHIR and the vendor's REST API) make: the
/// bearer token only to the host it was minted for, a 401 renews it and tries once more,
/// and every request, failed ones included, reported for the audit.
struct AuthorizedExchange: Sendable {
    let http: HTTPClient
    let auth: (any AccessTokenSource)?
    let timeout: Duration?
    var observer: (@Sendable (FHIRExchange) -> Void)?
    /// The pathway's reading of a non-success answer (an OperationOutcome, a vendor's `{"error": …}`).
    let refusal: @Sendable (HTTPResponse) -> FHIRError?

    /// Returns the success response and the latency of all tries, in milliseconds.
    func send(_ method: String, url: String, resourceType: String, resourceId: String?,
              headers extra: HTTPHeaders, body: Data?) async throws(FHIRError) -> (HTTPResponse, Int) {
        var headers = extra
        var token: String?
        if let auth {
            // The token goes only where it was minted for: a base URL given on the command
            // line, or a `next` link from the server, may point anywhere.
            let target: Endpoint, audience: Endpoint
            do { target = try Endpoint(url); audience = try Endpoint(auth.audience) } catch { throw .transport(error) }
            guard target == audience else { throw .authentication(.notForThisHost(target.description)) }
            do { token = try await auth.token() } catch { throw .authentication(error) }
        }
        var attempt = 1, totalLatency = 0
        while true {
            if let token { headers["Authorization"] = "Bearer \(token)" }
            let started = ContinuousClock.now
            let outcome: Result<HTTPResponse, FHIRError>
            let status: Int?
            do {
                let response = try await http.send(HTTPRequest(method, url, headers: headers, body: body, timeout: timeout))
                outcome = refusal(response).map { .failure($0) } ?? .success(response)
                status = response.status
            } catch {
                outcome = .failure(.transport(error))
                status = nil
            }
            let elapsed = ContinuousClock.now - started
            let latency = Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
            totalLatency += latency
            if let observer {
                var error: FHIRError?
                if case .failure(let e) = outcome { error = e }
                observer(FHIRExchange(method: method, resourceType: resourceType, resourceId: resourceId, httpStatus: status,
                                      latencyMs: latency, attempt: attempt, error: error))
            }
            if case .failure(.unauthorized) = outcome, attempt == 1, let rejected = token, let auth {
                do { token = try await auth.renewToken(rejected: rejected) } catch { throw .authentication(error) }
                attempt += 1
                continue
            }
            return (try outcome.get(), totalLatency)
        }
    }
}
