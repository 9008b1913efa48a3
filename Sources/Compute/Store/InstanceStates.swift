/// Nova's vm_state: what a server is (`OS-EXT-STS:vm_state`, stored in `instances.vm_state`).
enum VMState: String, Sendable, CaseIterable, CustomStringConvertible {
    case building, active, paused, suspended, stopped, rescued, resized, error, deleted, shelved
    case softDeleted = "soft-delete"
    case shelvedOffloaded = "shelved_offloaded"

    /// Nova's spelling, as messages show it.
    var description: String { rawValue }
}

/// Nova's task_state: what is being done to a server (`OS-EXT-STS:task_state`); nil when nothing.
enum TaskState: String, Sendable, CaseIterable, CustomStringConvertible {
    case scheduling, networking, spawning, deleting, rebooting, pausing, unpausing, suspending, resuming
    case rescuing, unrescuing, rebuilding, migrating, restoring, shelving, unshelving
    case blockDeviceMapping = "block_device_mapping"
    case imageSnapshot = "image_snapshot"
    case imageBackup = "image_backup"
    case updatingPassword = "updating_password"
    case resizePrep = "resize_prep"
    case resizeReverting = "resize_reverting"
    case rebootingHard = "rebooting_hard"
    case poweringOff = "powering-off"
    case poweringOn = "powering-on"
    case softDeleting = "soft-deleting"
    case shelvingOffloading = "shelving_offloading"
    case shelvingImagePendingUpload = "shelving_image_pending_upload"
    case shelvingImageUploading = "shelving_image_uploading"
    case imagePendingUpload = "image_pending_upload"
    case imageUploading = "image_uploading"
    case resizeMigrating = "resize_migrating"
    case resizeMigrated = "resize_migrated"
    case resizeFinish = "resize_finish"
    case rebuildBlockDeviceMapping = "rebuild_block_device_mapping"
    case rebuildSpawning = "rebuild_spawning"
    case rebootPending = "reboot_pending"
    case rebootStarted = "reboot_started"
    case rebootPendingHard = "reboot_pending_hard"
    case rebootStartedHard = "reboot_started_hard"

    /// Nova's spelling, as messages show it.
    var description: String { rawValue }
}
