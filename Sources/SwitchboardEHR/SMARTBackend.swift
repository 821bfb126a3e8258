import Crypto
import Foundation
import SwitchboardCore

/// SMART Backend Services client authentication (`private_key_jwt`, RFC 7523): the client
/// proves who it is with a short-lived JWT signed ES384 by its private key; the EHR checks
/// it against the public keys (JWKS) registered for the client.
///
///     let jwks = try SMARTBackend.jwks(privateKeyPEM: pem, keyID: "switchboard-1")   // register with the EHR
///     let auth = OAuthClientCredentials(tokenURL: url, clientID: "switchboard", secretFile: "/etc/switchboard/ehr-key.pem",
///                                       clientAuthentication: .privateKeyJWT(keyID: "switchboard-1"), http: http)
public enum SMARTBackend {
    public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// The signed assertion: `iss` = `sub` = client id, `aud` = the token URL, `exp` at most
    /// five minutes ahead (SMART's limit), a fresh `jti`.
    public static func assertion(clientID: String, tokenURL: String, privateKeyPEM: String, keyID: String,
                                 issuedAt: UnixMillis, lifetimeSeconds: Int64 = 240) throws -> String {
        let key = try P384.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        let header = ["alg": "ES384", "typ": "JWT", "kid": keyID]
        let claims: [String: Any] = ["iss": clientID, "sub": clientID, "aud": tokenURL, "iat": issuedAt / 1000,
                                     "exp": issuedAt / 1000 + lifetimeSeconds, "jti": UUID().uuidString.lowercased()]
        let signingInput = base64URL(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) + "."
            + base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }

    /// The public half as a JWK Set, what the client registers with the EHR.
    public static func jwks(privateKeyPEM: String, keyID: String) throws -> String {
        let raw = try P384.Signing.PrivateKey(pemRepresentation: privateKeyPEM).publicKey.rawRepresentation
        let key = ["kty": "EC", "crv": "P-384", "kid": keyID, "use": "sig", "alg": "ES384",
                   "x": base64URL(raw.prefix(48)), "y": base64URL(raw.suffix(48))]
        return String(decoding: try JSONSerialization.data(withJSONObject: ["keys": [key]], options: [.sortedKeys]), as: UTF8.self)
    }

    /// Why an assertion was refused (the EHR's side).
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Checks an assertion as the EHR does: signature by a key of `jwks` (by `kid`), `iss`
    /// and `sub` the client, `aud` this token URL, not expired and not more than five
    /// minutes out. Returns the client id and the `jti` (for replay checks).
    public static func verify(_ assertion: String, jwks: String, clientID: String, tokenURL: String,
                              now: UnixMillis) throws(Refusal) -> (clientID: String, jti: String) {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = data(base64URL: parts[0]), let claimsData = data(base64URL: parts[1]),
              let signatureData = data(base64URL: parts[2]),
              let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any],
              let claims = (try? JSONSerialization.jsonObject(with: claimsData)) as? [String: Any]
        else { throw Refusal("the client assertion is not a JWT") }
        guard header["alg"] as? String == "ES384" else { throw Refusal("alg must be ES384") }
        let keys = ((try? JSONSerialization.jsonObject(with: Data(jwks.utf8))) as? [String: Any])?["keys"] as? [[String: Any]] ?? []
        guard let jwk = keys.first(where: { $0["kid"] as? String == header["kid"] as? String }),
              let x = (jwk["x"] as? String).flatMap(data(base64URL:)), let y = (jwk["y"] as? String).flatMap(data(base64URL:)),
              let key = try? P384.Signing.PublicKey(rawRepresentation: x + y)
        else { throw Refusal("no registered key has kid \(header["kid"] as? String ?? "(none)")") }
        guard let signature = try? P384.Signing.ECDSASignature(rawRepresentation: signatureData),
              key.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8))
        else { throw Refusal("the signature does not verify") }
        guard claims["iss"] as? String == clientID, claims["sub"] as? String == clientID else { throw Refusal("iss and sub must be the client id") }
        guard claims["aud"] as? String == tokenURL else { throw Refusal("aud must be the token URL") }
        let seconds = now / 1000
        guard let exp = (claims["exp"] as? NSNumber)?.int64Value, exp > seconds else { throw Refusal("the assertion has expired") }
        guard exp <= seconds + 300 else { throw Refusal("exp is more than five minutes ahead") }
        guard let jti = claims["jti"] as? String, !jti.isEmpty else { throw Refusal("jti is required") }
        return (clientID, jti)
    }

    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: String) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}
