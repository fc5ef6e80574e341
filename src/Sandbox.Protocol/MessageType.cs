namespace Sandbox.Protocol;

/// <summary>
/// Frame types of the host ↔ sandbox-init protocol (version <see cref="ProtocolVersion.Current"/>; see
/// <see cref="Frame"/> for the layout). The same protocol runs over a socketpair (container) and a virtio-serial port
/// (micro-VM). Frames about a process carry its id in the header (0: the main workload).
/// </summary>
public enum MessageType : byte
{
    // host → init
    /// <summary>Payload: u32 host protocol version, then <see cref="InitSpec"/> as UTF-8 JSON. Sent once, first; process 0.</summary>
    Start = 1,
    /// <summary>Payload: bytes for the process's stdin.</summary>
    Stdin = 2,
    /// <summary>No payload: the process's stdin reached end of file.</summary>
    StdinClose = 3,
    /// <summary>Payload: i32 signal number to deliver to the process.</summary>
    Signal = 4,
    /// <summary>Payload: u16 rows, u16 columns of the process's terminal.</summary>
    Resize = 5,
    /// <summary>Payload: <see cref="ExecRequest"/>: start a new process with the header's (fresh, non-zero) id.</summary>
    Exec = 6,
    /// <summary>No payload: asks init for a <see cref="Stats"/> frame.</summary>
    StatsRequest = 7,
    /// <summary>Payload: the new /etc/hosts (UTF-8): members of the sandbox's network came or went.</summary>
    Hosts = 8,
    /// <summary>
    /// Payload: i64 the host's CLOCK_REALTIME (ns since the epoch). Sent to a guest's init after the domain was resumed:
    /// a paused guest's clock stood still, so init steps it (what libvirt's guest-agent set-time does). A container's
    /// init ignores it: it shares the host's clock.
    /// </summary>
    Clock = 9,

    // init → host
    /// <summary>Payload: u32 init's protocol version, i64 init's CLOCK_MONOTONIC now (ns), so the host can align marks.</summary>
    Hello = 64,
    /// <summary>Payload: u8 <see cref="MarkKind"/>, i64 CLOCK_MONOTONIC (ns) of init's clock. Main workload only.</summary>
    Mark = 65,
    /// <summary>Payload: bytes the process wrote to stdout (a pty's output, with -t).</summary>
    Stdout = 66,
    /// <summary>Payload: bytes the process wrote to stderr.</summary>
    Stderr = 67,
    /// <summary>Payload: <see cref="ExitMessage"/>. The last frame init sends for a process; process 0's is init's last.</summary>
    Exited = 68,
    /// <summary>Payload: <see cref="ErrorMessage"/>: init could not start the process (or, for process 0, the sandbox).</summary>
    Error = 69,
    /// <summary>Payload: i32 the exec'd process's pid in the sandbox, i64 CLOCK_MONOTONIC of its execve. Exec only.</summary>
    Started = 70,
    /// <summary>Payload: <see cref="StatsMessage"/>, the answer to <see cref="StatsRequest"/>.</summary>
    Stats = 71,
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
