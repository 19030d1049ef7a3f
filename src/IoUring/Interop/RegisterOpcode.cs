namespace IoUring;

/// <summary><c>IORING_REGISTER_*</c>: opcodes of <c>io_uring_register(2)</c>.</summary>
public enum RegisterOpcode : uint
{
    /// <summary>Register fixed buffers.</summary>
    RegisterBuffers = 0,
    /// <summary>Unregister fixed buffers.</summary>
    UnregisterBuffers = 1,
    /// <summary>Register files.</summary>
    RegisterFiles = 2,
    /// <summary>Unregister files.</summary>
    UnregisterFiles = 3,
    /// <summary>Register an eventfd signalled on completions.</summary>
    RegisterEventFd = 4,
    /// <summary>Unregister the eventfd.</summary>
    UnregisterEventFd = 5,
    /// <summary>Update registered files.</summary>
    RegisterFilesUpdate = 6,
    /// <summary>Register an eventfd signalled only for async completions.</summary>
    RegisterEventFdAsync = 7,
    /// <summary>Probe supported opcodes.</summary>
    RegisterProbe = 8,
    /// <summary>Register a personality (credentials).</summary>
    RegisterPersonality = 9,
    /// <summary>Unregister a personality.</summary>
    UnregisterPersonality = 10,
    /// <summary>Restrict what the ring may do.</summary>
    RegisterRestrictions = 11,
    /// <summary>Enable a ring created with <see cref="SetupFlags.RDisabled"/>.</summary>
    RegisterEnableRings = 12,
    /// <summary>Register files with tags (<c>io_uring_rsrc_register</c>).</summary>
    RegisterFiles2 = 13,
    /// <summary>Update files with tags.</summary>
    RegisterFilesUpdate2 = 14,
    /// <summary>Register buffers with tags.</summary>
    RegisterBuffers2 = 15,
    /// <summary>Update buffers with tags.</summary>
    RegisterBuffersUpdate = 16,
    /// <summary>Set async worker CPU affinity.</summary>
    RegisterIoWqAff = 17,
    /// <summary>Clear async worker CPU affinity.</summary>
    UnregisterIoWqAff = 18,
    /// <summary>Set the maximum number of async workers.</summary>
    RegisterIoWqMaxWorkers = 19,
    /// <summary>Register ring fds for <see cref="EnterFlags.RegisteredRing"/>.</summary>
    RegisterRingFds = 20,
    /// <summary>Unregister ring fds.</summary>
    UnregisterRingFds = 21,
    /// <summary>Register a provided-buffer ring.</summary>
    RegisterPbufRing = 22,
    /// <summary>Unregister a provided-buffer ring.</summary>
    UnregisterPbufRing = 23,
    /// <summary>Cancel requests synchronously.</summary>
    RegisterSyncCancel = 24,
    /// <summary>Set the range for allocated direct descriptors.</summary>
    RegisterFileAllocRange = 25,
    /// <summary>Read a provided-buffer ring's head.</summary>
    RegisterPbufStatus = 26,
    /// <summary>Register NAPI busy polling.</summary>
    RegisterNapi = 27,
    /// <summary>Unregister NAPI busy polling.</summary>
    UnregisterNapi = 28,
    /// <summary>Choose the clock of waits.</summary>
    RegisterClock = 29,
    /// <summary>Clone registered buffers from another ring.</summary>
    RegisterCloneBuffers = 30,
    /// <summary>Send a message ring request without a source ring.</summary>
    RegisterSendMsgRing = 31,
    /// <summary>Register a zero-copy receive interface queue.</summary>
    RegisterZcrxIfq = 32,
    /// <summary>Resize the rings.</summary>
    RegisterResizeRings = 33,
    /// <summary>Register a memory region.</summary>
    RegisterMemRegion = 34,
    /// <summary>OR-ed into the opcode: the fd argument is a registered ring index.</summary>
    UseRegisteredRing = 1u << 31,
}
