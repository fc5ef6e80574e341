namespace Sandbox.MicroVm;

/// <summary>What a qemu process costs the host.</summary>
internal static class QemuFootprint
{
    /// <summary>Proportional set size from /proc/PID/smaps_rollup, or null when the process is gone.</summary>
    public static long? PssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (!line.StartsWith("Pss:", StringComparison.Ordinal)) continue;
                var kib = line["Pss:".Length..].Trim().Split(' ')[0];
                return long.Parse(kib) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }
}
