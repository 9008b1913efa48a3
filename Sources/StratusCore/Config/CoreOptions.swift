/// Options shared by every service.
public enum CoreOptions {
    public static let dataDir = ConfigOption(
        "DEFAULT", "data_dir", default: "", help: "Where databases, keys and generated client files live (default ~/.stratus).")
    public static let bindHost = ConfigOption(
        "DEFAULT", "bind_host", default: "0.0.0.0", help: "Address the API servers listen on.")
    public static let publicHost = ConfigOption(
        "DEFAULT", "public_host", default: "127.0.0.1", help: "Host name put in catalog endpoint URLs.")
    public static let logLevel = ConfigOption(
        "DEFAULT", "log_level", default: "info", help: "trace, debug, info, notice, warning, error or critical.")
    public static let policyFile = ConfigOption(
        "oslo_policy", "policy_file", default: "", help: "YAML or JSON file of policy rules overriding the defaults.")

    public static let databaseConnection = ConfigOption(
        "database", "connection", default: "",
        help: "PostgreSQL URL for every service; each uses the database named with _<service> appended (stratus -> stratus_identity).")

    /// The database of `service`: its own `[<service>] connection`, else `[database] connection`
    /// with the service's suffix, else a SQLite file in the data directory.
    public static func databaseURL(_ config: Config, service: String, dataDir: String) -> String {
        let own = config[connection(service)]
        if !own.isEmpty { return own }
        let shared = config[databaseConnection]
        guard !shared.isEmpty else { return "\(dataDir)/\(service).db" }
        guard shared.hasPrefix("postgres"), let slash = shared.lastIndex(of: "/") else { return shared }
        let tail = shared[shared.index(after: slash)...]
        let name = tail.prefix { $0 != "?" }
        return String(shared[...slash]) + name + "_\(service)" + tail.dropFirst(name.count)
    }

    public static func connection(_ service: String) -> ConfigOption<String> {
        ConfigOption(
            service, "connection", default: "",
            help: "Database URL: postgresql://user:pass@host/db, or a SQLite path (default <data_dir>/\(service).db).")
    }

    public static func port(_ service: String, default port: Int) -> ConfigOption<Int> {
        ConfigOption(service, "port", default: port, help: "TCP port of the \(service) API.")
    }
}
