/// The bus topics of Compute's processes: the conductor and the scheduler (one server
/// each), and the compute hosts (the server is the host's name).
enum ConductorRPC { static let topic = "conductor" }
enum SchedulerRPC { static let topic = "scheduler" }
enum ComputeRPC { static let topic = "compute" }
