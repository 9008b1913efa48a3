/// Who signed an S3 request with an EC2 credential, as Keystone's `s3tokens` answers it:
/// Object Storage's S3 API builds the string to sign, Identity holds the secrets.
public protocol S3CredentialVerifier: Sendable {
    /// The caller whose credential `access` signed `stringToSign` (AWS Signature V4: its
    /// scope line names the date, region and service the key is derived for) into
    /// `signature` (hex); `APIError.unauthorized` when the credential or signature is wrong.
    func verify(access: String, stringToSign: String, signature: String) async throws -> AuthContext
}
