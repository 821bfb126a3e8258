import Foundation
import GRDB
import SwitchboardEHR
import SwitchboardHTTP
@testable import SwitchboardSim
import SwitchboardTesting
import Testing

/// Insurance verification on the FHIR pathway: the EHR client reads the patient's Coverage,
/// asks the payer with a `CoverageEligibilityRequest` (`$submit`), and the sandbox answers a
/// `CoverageEligibilityResponse`, in force for an active coverage and not for a cancelled
/// one. Both documents, as the sandbox keeps them, pass PyPI's `fhir.resources` (R4B).
@Suite struct EligibilityTests {
    @Test func activeAndInactiveCoverageGetTheirAnswersAndValidate() async throws {
        let f = try await SandboxFixture.start(patients: 300)
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let fhir = FHIRClient(baseURL: f.endpoints.fhirBaseURL, http: HTTPClient(),
                              auth: StaticToken(value: token, audience: f.endpoints.fhirBaseURL))
        let coverage = try DatabaseQueue(path: f.directory.appendingPathComponent("ehr-sandbox.sqlite").path)
        let active = try await coverage.read { db in try String.fetchOne(db, sql: "SELECT beneficiary_id FROM coverage WHERE json LIKE '%\"active\"%' LIMIT 1") }
        let cancelled = try await coverage.read { db in try String.fetchOne(db, sql: "SELECT beneficiary_id FROM coverage WHERE json LIKE '%\"cancelled\"%' LIMIT 1") }
        var answers: [Bool] = []
        for patient in [try #require(active), try #require(cancelled)] {
            let onFile = try #require(try await fhir.searchCoverage(beneficiary: "Patient/\(patient)").value.first)
            let asked = CoverageEligibilityRequest(patient: Reference("Patient/\(patient)"), created: "2026-11-29T10:00:00Z",
                                                   insurer: onFile.payor[0], coverage: try #require(onFile.reference))
            let answer = try await fhir.checkEligibility(asked)
            #expect(answer.httpStatus == 200)
            #expect(answer.value.insurance?.first?.coverage.reference == onFile.reference?.reference)
            answers.append(answer.value.isInForce)
        }
        #expect(answers == [true, false])

        // Coverage that is not the patient's is refused, not answered.
        let other = CoverageEligibilityRequest(patient: Reference("Patient/\(try #require(cancelled))"), created: "2026-11-29T10:00:00Z",
                                               insurer: "Organization/payor-1", coverage: Reference("Coverage/cov-\(try #require(active).dropFirst(2))"))
        await #expect(throws: FHIRError.self) { _ = try await fhir.checkEligibility(other) }

        // The judge: every request asked and answer given, as the sandbox keeps them.
        let rows = try coverage.read { db in try Row.fetchAll(db, sql: "SELECT request_json, json FROM eligibility") }
        #expect(rows.count == 2)
        let lines = rows.flatMap { [$0["request_json"] as String, $0["json"] as String] }.joined(separator: "\n")
        let file = f.directory.appendingPathComponent("eligibility.jsonl").path
        try lines.write(toFile: file, atomically: true, encoding: .utf8)
        let judge = try PythonJudge("fhir-resources", packages: ["fhir.resources"])
        let result = try judge.run(script: RehearsalTests.fhirJudge, arguments: [file])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("checked 4"), "\(result.stdout)")
    }
}
