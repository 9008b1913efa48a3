import HTTPTypes

/// Header names of the compute and metadata APIs, made once.
extension HTTPField.Name {
    // Literal names are valid header tokens, so these cannot fail.
    static let computeRequestID = Self("X-Compute-Request-Id")!
    static let novaAPIVersion = Self("X-OpenStack-Nova-API-Version")!
    static let instanceID = Self("X-Instance-ID")!
    static let instanceIDSignature = Self("X-Instance-ID-Signature")!
    static let neutronNetworkID = Self("X-Neutron-Network-ID")!
}
