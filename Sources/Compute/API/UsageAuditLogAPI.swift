import Foundation
import Hummingbird
import StratusCore

/// `os-instance_usage_audit_log` (admin): the monthly usage audit period before a time and
/// the compute hosts' part in it. Stratus runs no audit task, so every host is "not run".
extension ComputeAPI {
    func registerUsageAuditLog(on router: RouterGroup<StratusContext>) {
        router.get("/os-instance_usage_audit_log") { _, context -> Response in
            try self.enforce("os_compute_api:os-instance-usage-audit-log:list", try self.caller(context))
            return .json(["instance_usage_audit_logs": try await self.auditLog(before: Date())])
        }
        router.get("/os-instance_usage_audit_log/:before") { _, context -> Response in
            try self.enforce("os_compute_api:os-instance-usage-audit-log:show", try self.caller(context))
            let text = (context.parameters.get("before") ?? "").removingPercentEncoding ?? ""
            guard let before = Self.auditTimestamp(text) else { throw APIError.badRequest("Invalid timestamp for date \(text)") }
            return .json(["instance_usage_audit_log": try await self.auditLog(before: before)])
        }
    }

    private static func auditTimestamp(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.SSSSSS"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    private func auditLog(before: Date) async throws -> JSON {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month], from: before)
        let ending = calendar.date(from: parts) ?? before
        let beginning = calendar.date(byAdding: .month, value: -1, to: ending) ?? ending
        let hosts = try await records.all().filter { $0.binary == "nova-compute" }.map(\.host)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return [
            "hosts_not_run": JSON(hosts), "log": [:], "num_hosts": .int(hosts.count), "num_hosts_done": 0,
            "num_hosts_not_run": .int(hosts.count), "num_hosts_running": 0,
            "overall_status": .string("0 of \(hosts.count) hosts done. 0 errors."),
            "period_beginning": .string(formatter.string(from: beginning)), "period_ending": .string(formatter.string(from: ending)),
            "total_errors": 0, "total_instances": 0,
        ]
    }
}
