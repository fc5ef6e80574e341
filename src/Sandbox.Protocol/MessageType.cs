namespace Sandbox.Protocol;

/// <summary>
/// Frame types of the host ↔ sandbox-init protocol. A frame is: type (1 byte), payload length (u32 little endian),
/// payload. The same protocol runs over a socketpair (container) and a virtio-serial port (micro-VM).
/// </summary>
public enum MessageType : byte
{
    // host → init
    /// <summary>Payload: <see cref="InitSpec"/> as UTF-8 JSON. Sent once, first.</summary>
    Start = 1,
    /// <summary>Payload: bytes for the workload's stdin.</summary>
    Stdin = 2,
    /// <summary>No payload: the workload's stdin reached end of file.</summary>
    StdinClose = 3,
    /// <summary>Payload: i32 signal number to deliver to the workload.</summary>
    Signal = 4,
    /// <summary>Payload: u16 rows, u16 columns of the workload's terminal.</summary>
    Resize = 5,
    /// <summary>Payload: the new /etc/hosts (UTF-8): members of the sandbox's network came or went.</summary>
    Hosts = 6,

    // init → host
    /// <summary>Payload: i64 init's CLOCK_MONOTONIC now (ns), so the host can align init's marks to its own clock.</summary>
    Hello = 64,
    /// <summary>Payload: u8 <see cref="MarkKind"/>, i64 CLOCK_MONOTONIC (ns) of init's clock.</summary>
    Mark = 65,
    /// <summary>Payload: bytes the workload wrote to stdout.</summary>
    Stdout = 66,
    /// <summary>Payload: bytes the workload wrote to stderr.</summary>
    Stderr = 67,
    /// <summary>Payload: <see cref="ExitMessage"/>. The last frame init sends for a workload.</summary>
    Exited = 68,
    /// <summary>Payload: <see cref="ErrorMessage"/>: init could not start the workload.</summary>
    Error = 69,
}

/// <summary>The moments init reports.</summary>
public enum MarkKind : byte
{
    /// <summary>init's first instruction (read as early as init can).</summary>
    InitStarted = 1,
    /// <summary>Just before the workload's execve.</summary>
    WorkloadStarted = 2,
    /// <summary>init reaped the workload.</summary>
    WorkloadExited = 3,
}
