import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ImageAPI {
    func registerMembers(on router: Router<StratusContext>) {
        router.post("/v2/images/:image_id/members") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.jsonObject(context: context)
            guard let member = body["member"]?.stringValue, !member.isEmpty, member.count <= 255 else {
                throw APIError.badRequest("Member to be added not specified")
            }
            let created = try await db.transaction { db in
                let (image, membership) = try await visibleImage(context, in: db)
                try policy.enforce("add_member", auth: auth, target: image.policyTarget(memberID: membership?.member))
                guard image.visibility == .shared else {
                    throw APIError.forbidden("Only shared images have members.")
                }
                if try await repository.member(image: image.id, member: member, in: db) != nil {
                    throw APIError.conflict("Member \(member) already has membership of image \(image.id)")
                }
                if try await repository.memberCount(image: image.id, in: db) >= limits.members {
                    throw APIError(.contentTooLarge, "Maximum number of members (\(limits.members)) reached for image \(image.id)")
                }
                let now = Date().timeIntervalSince1970
                let created = ImageMember(imageID: image.id, member: member, status: "pending", createdAt: now, updatedAt: now)
                try await repository.insertMember(created, in: db)
                return created
            }
            return Response.json(created.rendered())
        }
        router.get("/v2/images/:image_id/members") { _, context in
            let auth = try context.requireAuth()
            let members = try await db.read { db in
                let (image, membership) = try await visibleImage(context, in: db)
                try policy.enforce("get_members", auth: auth, target: image.policyTarget(memberID: membership?.member))
                guard image.visibility == .shared else { throw APIError.forbidden("Only shared images have members.") }
                let all = try await repository.members(image: image.id, in: db)
                // A member sees its own membership; the owner and admins see all of them.
                return context.viewer.isAdmin || image.owner == auth.projectID ? all : all.filter { $0.member == auth.projectID }
            }
            return Response.json(["members": .array(members.map { $0.rendered() }), "schema": "/v2/schemas/members"])
        }
        router.get("/v2/images/:image_id/members/:member_id") { _, context in
            let auth = try context.requireAuth()
            let member = try await db.read { db in try await memberOfPath(context, auth: auth, rule: "get_member", in: db) }
            return Response.json(member.rendered())
        }
        router.put("/v2/images/:image_id/members/:member_id") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.jsonObject(context: context)
            guard let status = body["status"]?.stringValue, ImageMember.statuses.contains(status) else {
                throw APIError.badRequest("Provided object does not match schema 'member': \(body["status"]?.serialized() ?? "status") is not one of ['pending', 'accepted', 'rejected']")
            }
            let member = try await db.transaction { db in
                var member = try await memberOfPath(context, auth: auth, rule: "get_member", in: db)
                guard policy.check("modify_member", creds: auth.policyCredentials, target: ["member_id": member.member]) else {
                    throw APIError.forbidden("You are not permitted to modify 'status' on this image member.")
                }
                member.status = status
                member.updatedAt = Date().timeIntervalSince1970
                try await repository.updateMember(member, in: db)
                return member
            }
            return Response.json(member.rendered())
        }
        router.delete("/v2/images/:image_id/members/:member_id") { _, context in
            let auth = try context.requireAuth()
            try await db.transaction { db in
                let (image, membership) = try await visibleImage(context, in: db)
                let member = try await memberOfPath(context, auth: auth, rule: "get_member", in: db)
                try policy.enforce("delete_member", auth: auth, target: image.policyTarget(memberID: membership?.member))
                try await repository.deleteMember(image: image.id, member: member.member, in: db)
            }
            return Response.noContent()
        }
    }

    /// The membership named in the path, if the caller may see it: the owner sees every
    /// member, a member only itself.
    private func memberOfPath(_ context: StratusContext, auth: AuthContext, rule: String, in db: any SQLDatabase) async throws -> ImageMember {
        let (image, membership) = try await visibleImage(context, in: db)
        let memberID = context.parameters.get("member_id") ?? ""
        try policy.enforce(rule, auth: auth, target: image.policyTarget(memberID: membership?.member))
        guard image.visibility == .shared else { throw APIError.forbidden("Only shared images have members.") }
        let mayView = context.viewer.isAdmin || image.owner == auth.projectID || memberID == auth.projectID
        guard mayView, let member = try await repository.member(image: image.id, member: memberID, in: db) else {
            throw APIError.notFound("\(memberID) is not a member of image \(image.id)")
        }
        return member
    }
}
