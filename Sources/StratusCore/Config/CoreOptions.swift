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

    public static func connection(_ service: String) -> ConfigOption<String> {
        ConfigOption(
            service, "connection", default: "",
            help: "Database URL: postgresql://user:pass@host/db, or a SQLite path (default <data_dir>/\(service).db).")
    }

    public static func port(_ service: String, default port: Int) -> ConfigOption<Int> {
        ConfigOption(service, "port", default: port, help: "TCP port of the \(service) API.")
    }
}
