import Foundation
import Hummingbird
import RotoStore

/// The request context of every route: the request id and, on API routes, the authenticated account.
public struct RotoRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    public var account: AccountRecord?

    public init(source: Source) {
        coreContext = .init(source: source)
        requestID = UUID().uuidString.lowercased()
        account = nil
    }

    /// Bodies are read explicitly with per-route caps (JSON 1 MiB, uploads larger).
    public var maxUploadSize: Int { 1 << 20 }
}
