import Hummingbird
import StratusCore

/// The URL prefix clients used to reach us, for `links`.
func baseURL(_ request: Request) -> String {
    request.baseURL
}

extension Request {
    /// The object under `key` in a JSON body, or a 400 in Keystone's words.
    func resourceBody(_ key: String, context: StratusContext) async throws -> [String: JSON] {
        let body = try await jsonObject(context: context)
        guard let value = body[key] else {
            throw APIError.badRequest("Invalid input for field '\(key)': '\(key)' is a required property.")
        }
        guard let object = value.objectValue else {
            throw APIError.badRequest("Invalid input for field '\(key)': \(value.serialized()) is not of type 'object'.")
        }
        return object
    }

    /// A boolean query flag the way Keystone reads them: present and not "0"/"false" is true.
    func flag(_ name: String) -> Bool {
        guard let value = query(name) else { return false }
        return !["0", "false", "no", "off"].contains(value.lowercased())
    }
}

extension StratusContext {
    func param(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        return value
    }
}
