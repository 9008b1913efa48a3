import StratusCore

/// The methods of a compute host (`compute.<host>`).
enum ComputeRPC {
    static let topic = "compute"

    static let buildAndRun = RPCMethod<InstanceRef, NoReply>(topic: topic, "build_and_run_instance")
    static let terminate = RPCMethod<InstanceRef, NoReply>(topic: topic, "terminate_instance")
    static let reboot = RPCMethod<RebootArgs, NoReply>(topic: topic, "reboot_instance")
    static let stop = RPCMethod<InstanceRef, NoReply>(topic: topic, "stop_instance")
    static let start = RPCMethod<InstanceRef, NoReply>(topic: topic, "start_instance")
    static let pause = RPCMethod<InstanceRef, NoReply>(topic: topic, "pause_instance")
    static let unpause = RPCMethod<InstanceRef, NoReply>(topic: topic, "unpause_instance")
    static let suspend = RPCMethod<InstanceRef, NoReply>(topic: topic, "suspend_instance")
    static let resume = RPCMethod<InstanceRef, NoReply>(topic: topic, "resume_instance")
    static let rescue = RPCMethod<RescueArgs, NoReply>(topic: topic, "rescue_instance")
    static let unrescue = RPCMethod<InstanceRef, NoReply>(topic: topic, "unrescue_instance")
    static let setAdminPassword = RPCMethod<PasswordArgs, NoReply>(topic: topic, "set_admin_password")
    static let triggerCrashDump = RPCMethod<InstanceRef, NoReply>(topic: topic, "trigger_crash_dump")
    static let softDelete = RPCMethod<InstanceRef, NoReply>(topic: topic, "soft_delete_instance")
    static let restore = RPCMethod<InstanceRef, NoReply>(topic: topic, "restore_instance")
    static let rebuild = RPCMethod<PasswordArgs, NoReply>(topic: topic, "rebuild_instance")
    static let snapshot = RPCMethod<SnapshotArgs, NoReply>(topic: topic, "snapshot_instance")
    static let attachInterface = RPCMethod<AttachInterfaceArgs, AttachInterfaceReply>(topic: topic, "attach_interface")
    static let detachInterface = RPCMethod<DetachInterfaceArgs, DetachInterfaceReply>(topic: topic, "detach_interface")
    static let attachVolume = RPCMethod<VolumeArgs, NoReply>(topic: topic, "attach_volume")
    static let detachVolume = RPCMethod<VolumeArgs, NoReply>(topic: topic, "detach_volume")
    static let swapVolume = RPCMethod<SwapVolumeArgs, NoReply>(topic: topic, "swap_volume")
    static let diagnostics = RPCMethod<InstanceRef, [String: Int]>(topic: topic, "get_diagnostics")
    static let consoleOutput = RPCMethod<InstanceRef, ConsoleOutput>(topic: topic, "get_console_output")
    static let cacheImages = RPCMethod<CacheImagesArgs, NoReply>(topic: topic, "cache_images")
    static let externalEvent = RPCMethod<ExternalEvent, NoReply>(topic: topic, "external_instance_event")

    // Moves: resize and cold migration, live migration, evacuation.
    static let resize = RPCMethod<MigrationRef, NoReply>(topic: topic, "resize_instance")
    static let finishResize = RPCMethod<MigrationRef, NoReply>(topic: topic, "finish_resize")
    static let confirmResize = RPCMethod<MigrationRef, NoReply>(topic: topic, "confirm_resize")
    static let revertResize = RPCMethod<MigrationRef, NoReply>(topic: topic, "revert_resize")
    static let finishRevertResize = RPCMethod<MigrationRef, NoReply>(topic: topic, "finish_revert_resize")
    static let liveMigration = RPCMethod<MigrationRef, NoReply>(topic: topic, "live_migration")
    static let postLiveMigration = RPCMethod<MigrationRef, NoReply>(topic: topic, "post_live_migration_at_destination")
    static let evacuate = RPCMethod<MigrationRef, NoReply>(topic: topic, "evacuate_instance")
    static let liveMigrationForceComplete = RPCMethod<MigrationRef, NoReply>(
        topic: topic, "live_migration_force_complete")
    static let liveMigrationAbort = RPCMethod<MigrationRef, NoReply>(topic: topic, "live_migration_abort")

    // Shelve.
    static let shelve = RPCMethod<ShelveArgs, NoReply>(topic: topic, "shelve_instance")
    static let shelveOffload = RPCMethod<InstanceRef, NoReply>(topic: topic, "shelve_offload_instance")
    static let unshelve = RPCMethod<InstanceRef, NoReply>(topic: topic, "unshelve_instance")
}

/// The methods of the conductor.
enum ConductorRPC {
    static let topic = "conductor"

    static let buildInstances = RPCMethod<BuildInstancesArgs, NoReply>(topic: topic, "build_instances")
    static let migrate = RPCMethod<MoveArgs, NoReply>(topic: topic, "migrate_server")
    static let liveMigrate = RPCMethod<MoveArgs, NoReply>(topic: topic, "live_migrate_instance")
    static let evacuate = RPCMethod<MoveArgs, NoReply>(topic: topic, "evacuate_instance")
    static let unshelve = RPCMethod<InstanceRef, NoReply>(topic: topic, "unshelve_instance")
}

/// The methods of the scheduler.
enum SchedulerRPC {
    static let topic = "scheduler"

    static let selectDestinations = RPCMethod<DestinationRequest, Destination>(topic: topic, "select_destinations")
}
