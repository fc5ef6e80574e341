namespace Sandbox.Benchmarking;

/// <summary>The machine a report was measured on.</summary>
public sealed record MachineInfo(string Kernel, string CpuModel, int Cores, long MemoryBytes)
{
    public static MachineInfo Current()
    {
        string cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                ?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        long mem = 0;
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            mem = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return new MachineInfo(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), cpu, Environment.ProcessorCount, mem);
    }

    /// <summary>Memory the kernel says can be used without swapping (MemAvailable).</summary>
    public static long AvailableMemoryBytes()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
