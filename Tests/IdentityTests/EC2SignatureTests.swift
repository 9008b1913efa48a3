import XCTest

@testable import Identity

/// AWS Signature V4 with the key derived from the secret and the string's scope: the
/// `get-vanilla` case of AWS's signature test suite.
final class EC2SignatureTests: XCTestCase {
    func testTheSignatureOfAWSsVanillaGET() {
        let stringToSign = """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """
        let signature = EC2Signatures.signatureV4(
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", stringToSign: stringToSign)
        XCTAssertEqual(signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        XCTAssertNil(EC2Signatures.signatureV4(secret: "s", stringToSign: "AWS4-HMAC-SHA256\nx\nbad-scope\nh"))
        XCTAssertTrue(EC2Signatures.constantTimeEqual("abc", "abc"))
        XCTAssertFalse(EC2Signatures.constantTimeEqual("abc", "abd"))
    }
}
