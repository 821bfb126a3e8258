import Foundation

/// Percent-encodes everything but ASCII letters, digits, `-._~` and `extra`.
func percentEncode(_ text: String, keeping extra: String) -> String {
    let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~" + extra)
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
