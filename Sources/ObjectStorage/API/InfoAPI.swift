import Foundation
import Hummingbird
import NIOCore
import StratusCore

extension SwiftAPI {
    /// `/info` (capabilities, no token needed), `/healthcheck` and `/crossdomain.xml`.
    func registerInfo(on router: Router<StratusContext>) {
        let info = capabilities().serialized()
        router.get("/info") { _, _ in Response.json(text: info) }
        router.head("/info") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"])
        }
        router.get("/healthcheck") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "OK")))
        }
        router.get("/crossdomain.xml") { _, _ in
            let body = """
                <?xml version="1.0"?>
                <!DOCTYPE cross-domain-policy SYSTEM "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >
                <cross-domain-policy>
                <allow-access-from domain="*" secure="false" />
                </cross-domain-policy>
                """
            return Response(
                status: .ok, headers: [.contentType: "application/xml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }

    /// What this Object Storage supports, with its limits, as Swift's `/info` lists them.
    func capabilities() -> JSON {
        [
            "swift": [
                "version": "2.35.0", "max_file_size": .int(Int(settings.maxFileSize)),
                "container_listing_limit": .int(ListingQuery.maxLimit),
                "account_listing_limit": .int(ListingQuery.maxLimit),
                "max_object_name_length": .int(SwiftPath.maxObjectName),
                "max_container_name_length": .int(SwiftPath.maxContainerName),
                "max_account_name_length": 256,
                "max_meta_count": .int(SwiftHeaders.maxMetaCount),
                "max_meta_name_length": .int(SwiftHeaders.maxMetaNameLength),
                "max_meta_value_length": .int(SwiftHeaders.maxMetaValueLength),
                "max_meta_overall_size": .int(SwiftHeaders.maxMetaOverallSize), "max_header_size": 8192,
                "extra_header_count": 0,
                "policies": [
                    ["name": .string(settings.policyName), "default": true, "aliases": .string(settings.policyName)]
                ],
                "strict_cors_mode": true, "allow_account_management": false, "account_autocreate": true,
                "valid_api_versions": ["v1", "v1.0"],
            ],
            "slo": [
                "max_manifest_segments": .int(LargeObjects.maxSegments),
                "max_manifest_size": .int(LargeObjects.maxManifestSize), "min_segment_size": 1,
                "yield_frequency": 10,
            ],
            "dlo": ["max_segments": 10000],
            "tempurl": [
                "methods": ["GET", "HEAD", "PUT", "POST", "DELETE"], "allowed_digests": ["sha1", "sha256", "sha512"],
                "incoming_remove_headers": ["x-timestamp"], "incoming_allow_headers": [],
                "outgoing_remove_headers": ["x-object-meta-*"], "outgoing_allow_headers": ["x-object-meta-public-*"],
            ],
            "account_quotas": [:], "container_quotas": [:],
            "versioned_writes": ["allowed_flags": ["x-versions-location", "x-history-location"]],
            "object_versioning": [:],
            "bulk_delete": ["max_deletes_per_request": .int(Bulk.maxDeletes), "max_failed_deletes": 1000],
            "bulk_upload": ["max_containers_per_extraction": 10000, "max_failed_extractions": 1000],
            "formpost": [:], "staticweb": [:], "crossdomain": [:], "healthcheck": [:],
            "symlink": ["symlink_loop_limit": .int(Symlinks.loopLimit)],
        ]
    }
}
