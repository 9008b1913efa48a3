import Foundation
import Hummingbird
import StratusCore

extension ImageAPI {
    func registerTags(on router: Router<StratusContext>) {
        router.put("/v2/images/:image_id/tags/:tag") { _, context in
            try await changeTags(context) { tags, tag in
                if !tags.contains(tag) { tags.append(tag) }
            }
        }
        router.delete("/v2/images/:image_id/tags/:tag") { _, context in
            try await changeTags(context) { tags, tag in
                guard let index = tags.firstIndex(of: tag) else { throw APIError.notFound("Tag \(tag) not found.") }
                tags.remove(at: index)
            }
        }
    }

    private func changeTags(_ context: StratusContext, _ change: @escaping @Sendable (inout [String], String) throws -> Void) async throws -> Response {
        let auth = try context.requireAuth()
        let tag = context.parameters.get("tag") ?? ""
        guard !tag.isEmpty, tag.count <= 255 else { throw APIError.badRequest("Tags must be 1 to 255 characters long.") }
        try await db.transaction { db in
            var (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce("modify_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
            let previous = image
            try change(&image.tags, tag)
            try checkQuotas(image)
            guard image.tags != previous.tags else { return }
            image.updatedAt = Date().timeIntervalSince1970
            try await repository.save(image, previous: previous, in: db)
        }
        return .noContent()
    }
}
