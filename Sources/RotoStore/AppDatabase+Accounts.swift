import GRDB

extension AppDatabase {
    /// The account owning an API key (by hash), creating both if the key is new.
    @discardableResult
    public func ensureAPIKeyAccount(keyHash: String, accountID: String, name: String,
                                    webhookSecret: String?, now: Int64) async throws -> String {
        try await writer.write { db in
            if let key = try APIKeyRecord.fetchOne(db, key: keyHash) {
                try db.execute(sql: "UPDATE account SET webhookSecret = ? WHERE id = ?",
                               arguments: [webhookSecret, key.accountId])
                return key.accountId
            }
            try AccountRecord(id: accountID, name: name, webhookSecret: webhookSecret, createdAt: now).insert(db)
            try APIKeyRecord(keyHash: keyHash, accountId: accountID, createdAt: now).insert(db)
            return accountID
        }
    }

    /// The account owning a Kling access key, creating both if new; the secret is updated if changed.
    @discardableResult
    public func ensureAccessKeyAccount(accessKey: String, secretKey: String, accountID: String,
                                       webhookSecret: String?, now: Int64) async throws -> String {
        try await writer.write { db in
            if var record = try AccessKeyRecord.fetchOne(db, key: accessKey) {
                record.secretKey = secretKey
                try record.update(db)
                try db.execute(sql: "UPDATE account SET webhookSecret = ? WHERE id = ?",
                               arguments: [webhookSecret, record.accountId])
                return record.accountId
            }
            try AccountRecord(id: accountID, name: "access key \(accessKey)", webhookSecret: webhookSecret,
                              createdAt: now).insert(db)
            try AccessKeyRecord(accessKey: accessKey, secretKey: secretKey, accountId: accountID,
                                createdAt: now).insert(db)
            return accountID
        }
    }

    /// Whether any credential exists at all (first-start bootstrap).
    public func hasCredentials() async throws -> Bool {
        try await writer.read { db in
            try APIKeyRecord.fetchCount(db) + AccessKeyRecord.fetchCount(db) > 0
        }
    }

    /// The key and its account, for authentication.
    public func apiKey(hash: String) async throws -> (key: APIKeyRecord, account: AccountRecord)? {
        try await writer.read { db in
            guard let key = try APIKeyRecord.fetchOne(db, key: hash),
                  let account = try AccountRecord.fetchOne(db, key: key.accountId) else { return nil }
            return (key, account)
        }
    }

    /// The access key and its account, for JWT authentication.
    public func accessKey(_ accessKey: String) async throws -> (key: AccessKeyRecord, account: AccountRecord)? {
        try await writer.read { db in
            guard let key = try AccessKeyRecord.fetchOne(db, key: accessKey),
                  let account = try AccountRecord.fetchOne(db, key: key.accountId) else { return nil }
            return (key, account)
        }
    }

    /// Enables or disables an API key (operators; tests of 1103).
    public func setAPIKey(hash: String, disabled: Bool) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE apiKey SET disabled = ? WHERE keyHash = ?", arguments: [disabled, hash])
        }
    }
}
