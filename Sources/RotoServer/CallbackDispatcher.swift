import Crypto
import Foundation
import Logging
import RotoAPI
import RotoCore
import RotoStore
import ServiceLifecycle

/// Delivers task callbacks (spec §6.3) from the `delivery` outbox: the task object POSTed to its
/// `callback_url`, signed with Standard Webhooks headers when the account has a `whsec_` secret,
/// retried with exponential back-off. A task's deliveries go out in order; a failing receiver never
/// changes the task. Deliveries survive restarts (they are rows).
struct CallbackDispatcher: Service {
    let database: AppDatabase
    let downloader: Downloader
    let doorbell: Doorbell
    let metrics: ServerMetrics
    let logger: Logger
    /// Delay before retry k (k = 1 after the first failure); after the last, the delivery is abandoned.
    var backoff: [Duration]
    /// Longest sleep between outbox checks when nothing rings.
    var idle: Duration = .seconds(5)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let sent = await sweep(now: UnixTime.nowMillis())
                if sent == 0 { await doorbell.wait(timeout: await nextWait()) }
            }
        }
    }

    /// How long to wait for the doorbell after an empty sweep: until the next retry is due (so retries
    /// go out on time), at least 10 ms and at most `idle`.
    func nextWait() async -> Duration {
        guard let due = try? await database.nextDeliveryDue() else { return idle }
        return min(idle, .milliseconds(max(10, due - UnixTime.nowMillis())))
    }

    /// Attempts every due delivery once; returns how many were attempted.
    func sweep(now: Int64) async -> Int {
        let due: [DeliveryRecord]
        do {
            due = try await database.dueDeliveries(now: now)
        } catch is CancellationError {
            return 0
        } catch {
            logger.error("callback outbox unreadable", metadata: ["error": "\(error)"])
            return 0
        }
        // Different receivers in parallel (bounded by the batch), one task's deliveries in order.
        await withTaskGroup(of: Void.self) { group in
            for delivery in due {
                group.addTask { await attempt(delivery) }
            }
        }
        return due.count
    }

    func attempt(_ delivery: DeliveryRecord) async {
        var d = delivery
        d.attempts += 1
        let now = UnixTime.nowMillis()
        var headers = [("Content-Type", "application/json")]
        do {
            if let secret = try await database.webhookSecret(accountID: d.accountId) {
                headers += try Self.signatureHeaders(secret: secret, id: d.id, timestamp: now / 1000, body: d.body)
            }
            let status = try await downloader.post(d.url, body: Array(d.body.utf8), headers: headers, field: "callback_url")
            if (200..<300).contains(status) {
                d.deliveredAt = UnixTime.nowMillis()
                d.lastError = nil
            } else {
                d.lastError = "HTTP \(status)"
            }
        } catch {
            d.lastError = "\(error)"
        }
        metrics.callback(outcome: d.deliveredAt != nil ? "delivered" : d.attempts > backoff.count ? "abandoned" : "retry")
        if d.deliveredAt == nil {
            if d.attempts > backoff.count {
                d.abandonedAt = UnixTime.nowMillis()
                logger.warning("callback abandoned", metadata: ["task": "\(d.taskId)", "delivery": "\(d.id)",
                                                               "attempts": "\(d.attempts)", "error": "\(d.lastError ?? "")"])
            } else {
                let delay = backoff[d.attempts - 1]
                d.nextAttemptAt = UnixTime.nowMillis() + Int64(delay.components.seconds * 1000)
                    + Int64(delay.components.attoseconds / 1_000_000_000_000_000)
                logger.info("callback failed; will retry", metadata: ["task": "\(d.taskId)", "delivery": "\(d.id)",
                                                                     "attempt": "\(d.attempts)", "error": "\(d.lastError ?? "")"])
            }
        }
        do {
            try await database.recordDelivery(d)
        } catch {
            logger.error("cannot record a callback attempt", metadata: ["delivery": "\(d.id)", "error": "\(error)"])
        }
    }

    /// Standard Webhooks headers: `webhook-id`, `webhook-timestamp` (Unix seconds) and
    /// `webhook-signature` = `v1,` + base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")).
    static func signatureHeaders(secret: String, id: String, timestamp: Int64, body: String) throws -> [(String, String)] {
        guard let key = WebhookSecret.signingKey(secret) else {
            throw RotoError(.internalError, "the account's webhook secret is not whsec_<base64>")
        }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        return [("webhook-id", id), ("webhook-timestamp", String(timestamp)),
                ("webhook-signature", "v1," + Data(mac).base64EncodedString())]
    }
}

/// A Standard Webhooks secret: `whsec_` followed by the base64 of the signing key.
public enum WebhookSecret {
    /// The signing key of `secret`; nil unless it is `whsec_` + non-empty base64 (the one check of the
    /// format, for `--webhook-secret` and for signing).
    public static func signingKey(_ secret: String) -> Data? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))), !key.isEmpty else {
            return nil
        }
        return key
    }
}
