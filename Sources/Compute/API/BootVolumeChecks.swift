import Foundation
import StratusCore

/// The volume items of a server create checked with the caller's token, as Nova's API does
/// before anything is written: a volume the caller may see (Cinder answers 404 for another
/// project's), an image they may see, and a size where Block Storage cannot infer one.
extension ComputeAPI {
    func checkVolumeRequests(_ items: [JSON], auth: AuthContext) async throws {
        let requests = items.compactMap(BlockDeviceRequest.init)
        // Without Block Storage the build fails, as it did before volumes existed.
        guard !requests.isEmpty, let cinder = clients.volume else { return }
        for request in requests {
            let id = request.uuid ?? ""
            switch request.source {
            case .volume:
                let found: Volume?
                do {
                    found = try await cinder.volume(id, token: auth.token)
                } catch ServiceClientError.noEndpoint {
                    return
                }
                guard let volume = found else {
                    throw APIError.badRequest("Block Device Mapping is Invalid: failed to get volume \(id).")
                }
                if request.bootIndex == 0, !volume.bootable {
                    throw APIError.badRequest("Block Device \(id) is not bootable.")
                }
            case .image:
                guard request.volumeSize != nil else {
                    throw APIError.badRequest(
                        "Block Device Mapping is Invalid: Images with destination_type 'volume' need to have a "
                            + "non-zero size specified")
                }
                _ = try await visibleImage(id, token: auth.token)
            case .blank:
                guard request.volumeSize != nil else {
                    throw APIError.badRequest(
                        "Block Device Mapping is Invalid: Blank volumes (source: 'blank', dest: 'volume') need to "
                            + "have non-zero size")
                }
            case .snapshot:
                break
            }
        }
    }
}
