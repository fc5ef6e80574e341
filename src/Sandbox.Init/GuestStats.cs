using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>The kernel's memory view from inside: in a VM, the guest's used memory (what the workload costs there).</summary>
internal static class GuestStats
{
    public static StatsMessage Read()
    {
        long total = 0, available = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) total = Kib(line);
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) available = Kib(line);
            }
        }
        catch (IOException) { }
        return new StatsMessage(Math.Max(0, total - available), total);
    }

    private static long Kib(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], out long v) ? v * 1024 : 0;
    }
}
