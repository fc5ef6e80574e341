namespace Sandbox.Lifecycle;

/// <summary>
/// The process that holds a running sandbox: pid, the pid's start time (clock ticks after boot, /proc/PID/stat field
/// 22) and the host's boot id. Liveness is decided by the owner's flock (<see cref="Core.SandboxDirectory"/>); this
/// identity is what <c>inspect</c> shows and what makes "kill the owner" safe against a reused pid.
/// </summary>
public sealed record OwnerIdentity(int Pid, long StartTime, string BootId)
{
    /// <summary>Another process (a container's init that holds its sandbox); a pid already gone gets start time 0.</summary>
    public static OwnerIdentity Of(int pid) => new(pid, ProcessStartTime(pid) ?? 0, HostBootId());

    public static OwnerIdentity Current() => new(Environment.ProcessId, ProcessStartTime(Environment.ProcessId) ?? 0, HostBootId());

    /// <summary>
    /// Same boot, same pid, same start time, and not dying: a killed owner is not gone at once (see
    /// <see cref="IsDying"/>), and must not pass for one still making or running its sandbox.
    /// </summary>
    public bool IsAlive() => BootId == HostBootId() && ProcessStat(Pid) is { } s && s.StartTime == StartTime && !IsDying();

    public static string HostBootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    }

    /// <summary>
    /// This owner was killed and is not gone yet: SIGKILL is pending (a process on a loaded host may wait to be
    /// scheduled before it even starts to exit), the kernel is tearing it down (PF_EXITING), or it is a zombie that
    /// its parent has not reaped (PID 1 here reaps once a second). Until its files are closed it still holds its owner
    /// lock: the memory is unmapped first.
    /// </summary>
    public bool IsDying()
    {
        if (ProcessStat(Pid) is not { } stat || stat.StartTime != StartTime) return false;
        if (stat.State is 'Z' or 'X') return true;
        try
        {
            var text = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            const uint PF_EXITING = 0x4;
            if (uint.TryParse(fields[6], out uint flags) && (flags & PF_EXITING) != 0) return true;
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                // Pending signals, process-wide (kill(2)) or of the main thread: SIGKILL is bit 9 - 1.
                if ((line.StartsWith("ShdPnd:", StringComparison.Ordinal) || line.StartsWith("SigPnd:", StringComparison.Ordinal))
                    && ulong.TryParse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, null, out ulong pending)
                    && (pending & (1UL << 8)) != 0)
                    return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException) { }
        return false;
    }

    public static long? ProcessStartTime(int pid) => ProcessStat(pid)?.StartTime;

    /// <summary>/proc/PID/stat's state (field 3) and start time (field 22).</summary>
    private static (char State, long StartTime)? ProcessStat(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 && fields[0].Length == 1 && long.TryParse(fields[19], out long t) ? (fields[0][0], t) : null;
    }
}
