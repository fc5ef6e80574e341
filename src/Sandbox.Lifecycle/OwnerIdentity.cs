namespace Sandbox.Lifecycle;

/// <summary>
/// The process that holds a running sandbox: pid, the pid's start time (clock ticks after boot, /proc/PID/stat field
/// 22) and the host's boot id. Liveness is decided by the owner's flock (<see cref="Core.SandboxDirectory"/>); this
/// identity is what <c>inspect</c> shows and what makes "kill the owner" safe against a reused pid.
/// </summary>
public sealed record OwnerIdentity(int Pid, long StartTime, string BootId)
{
    public static OwnerIdentity Current() => new(Environment.ProcessId, ProcessStartTime(Environment.ProcessId) ?? 0, HostBootId());

    /// <summary>Same boot, same pid, same start time.</summary>
    public bool IsAlive() => BootId == HostBootId() && ProcessStartTime(Pid) is long t && t == StartTime;

    public static string HostBootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    }

    public static long? ProcessStartTime(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], out long t) ? t : null;
    }
}
