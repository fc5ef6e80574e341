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
    /// <summary>
    /// No payload. Container only: init becomes the holder of the detached sandbox (docs/process-model.md, "Who holds a
    /// running sandbox"). Sent after the holder's fds (<see cref="HolderFd"/>) on the fd socket. From its
    /// <see cref="Detached"/> answer on, the main workload's output goes to the log init was given, the control socket
    /// is init's, and the host's hang-up no longer ends the sandbox.
    /// </summary>
    Detach = 10,

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
    /// <summary>No payload: the answer to <see cref="Detach"/>, after every output frame init sent the host before it.</summary>
    Detached = 72,
}

/// <summary>The tags of the fds the host sends a container's init (over the fd socket) before <see cref="MessageType.Detach"/>.</summary>
public static class HolderFd
{
    /// <summary>container.log, opened O_WRONLY|O_APPEND by the host: init appends docker json-file records.</summary>
    public const byte Log = (byte)'G';
    /// <summary>The exit record file (<c>exit.json</c>), opened O_WRONLY by the host: init writes the workload's exit once.</summary>
    public const byte Exit = (byte)'X';
    /// <summary>owner.lock, whose flock the host holds: init keeps it held for as long as it lives.</summary>
    public const byte Lock = (byte)'K';
    /// <summary>The bound, listening control socket (<c>ctl.sock</c>).</summary>
    public const byte Listener = (byte)'C';
    /// <summary>The image's lease lock (a shared flock that keeps <c>image rm</c> away while the sandbox runs).</summary>
    public const byte ImageLease = (byte)'I';
    /// <summary>The end of the list.</summary>
    public const byte End = (byte)'E';
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

    // The detailed marks of a traced run (InitSpec.TraceBoot, `sandbox run --timings-detail`); the host names them
    // with BootStep. The kernel's are read back from its log (/dev/kmsg) by the guest's PID 1 after Start.
    /// <summary>The guest kernel's clock started (its log's time 0).</summary>
    KernelStarted = 4,
    /// <summary>The kernel began unpacking the initramfs.</summary>
    InitramfsUnpackStarted = 5,
    /// <summary>The kernel finished unpacking the initramfs (and freed its copy).</summary>
    InitramfsUnpacked = 6,
    /// <summary>The kernel exec'd /init.</summary>
    InitExecuted = 7,
    /// <summary>The guest's PID 1 has read and parsed Start.</summary>
    StartReceived = 8,
    /// <summary>The guest's PID 1 has mounted the root (disk, tmpfs, overlay).</summary>
    RootMounted = 9,
    /// <summary>The guest's PID 1 has spawned the workload's init into its namespaces and cgroup.</summary>
    WorkloadInitSpawned = 10,
    /// <summary>The workload's init (a second process in a guest) runs its first managed instruction.</summary>
    WorkloadInitStarted = 11,
    /// <summary>The workload's init has switched into the sandbox's root.</summary>
    RootSwitched = 12,
    /// <summary>The guest's PID 1 has read the kernel's log for the marks above (the trace's own cost ends here).</summary>
    TraceRead = 13,
    /// <summary>The guest's PID 1 has mounted /dev, /proc and /sys (sent with the trace, after Start).</summary>
    KernelFileSystemsMounted = 14,
    /// <summary>The guest's PID 1 has found and opened its virtio-serial port (sent with the trace, after Start).</summary>
    PortOpened = 15,
}

/// <summary>The names the host gives the detailed marks (timings' steps).</summary>
public static class BootStep
{
    public static string? NameOf(MarkKind kind) => kind switch
    {
        MarkKind.KernelStarted => "kernel",
        MarkKind.InitramfsUnpackStarted => "initramfs-unpack",
        MarkKind.InitramfsUnpacked => "initramfs-done",
        MarkKind.InitExecuted => "init-exec",
        MarkKind.StartReceived => "start-received",
        MarkKind.RootMounted => "root-mounted",
        MarkKind.WorkloadInitSpawned => "workload-init-spawned",
        MarkKind.WorkloadInitStarted => "workload-init-started",
        MarkKind.RootSwitched => "root-switched",
        MarkKind.TraceRead => "trace-read",
        MarkKind.KernelFileSystemsMounted => "kernel-fs-mounted",
        MarkKind.PortOpened => "port-opened",
        _ => null,
    };

    /// <summary>Marks of the guest's boot before Start: meaningless for a warm pool member (it booted long before).</summary>
    public static bool IsBeforeStart(MarkKind kind) =>
        kind is >= MarkKind.KernelStarted and <= MarkKind.InitExecuted or MarkKind.KernelFileSystemsMounted or MarkKind.PortOpened;
}
