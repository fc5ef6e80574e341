namespace Sandbox.Lifecycle;

/// <summary>
/// The process that holds a running sandbox: pid, the pid's start time (clock ticks after boot, /proc/PID/stat field
/// 22) and the host's boot id. Liveness is decided by the owner's flock (<see cref="Core.SandboxDirectory"/>); this
/// identity is what <c>inspect</c> shows and what makes "kill the owner" safe against a reused pid.
/// </summary>
public sealed record OwnerIdentity(int Pid, long StartTime, string BootId)
{
    public static OwnerIdentity Current() => new(Environment.ProcessId, ProcessStartTime(Environment.ProcessId) ?? 0, HostBootId());

    /// <summary>
    /// Same boot, same pid, same start time, and not a zombie: a dead owner stays in /proc with its start time until
    /// its parent reaps it (PID 1 here reaps once a second), and must not pass for one still making its sandbox.
    /// </summary>
    public bool IsAlive() => BootId == HostBootId() && ProcessStat(Pid) is { } s && s.StartTime == StartTime && s.State is not ('Z' or 'X');

    public static string HostBootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    }

    /// <summary>
    /// Killed and not yet gone: the kernel is tearing the process down (PF_EXITING) or it is a zombie. Such an owner
    /// still holds its owner lock for a moment (files are closed after the memory is unmapped).
    /// </summary>
    public bool IsExiting()
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{Pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length <= 19 || !long.TryParse(fields[19], out long t) || t != StartTime) return false;
        const uint PF_EXITING = 0x4;
        return fields[0] is "Z" or "X" || (uint.TryParse(fields[6], out uint flags) && (flags & PF_EXITING) != 0);
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
