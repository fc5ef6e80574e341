using System.Globalization;

namespace Sandbox.Benchmarking;

/// <summary>Memory charged to the cgroup a process is in, on cgroup v1 (memory controller) or v2.</summary>
public static class CgroupMemory
{
    public static long OfProcess(int pid)
    {
        string[] lines;
        try { lines = File.ReadAllLines($"/proc/{pid}/cgroup"); }
        catch (IOException) { return 0; }
        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (parts[1].Split(',').Contains("memory"))
                return Read($"/sys/fs/cgroup/memory{parts[2]}/memory.usage_in_bytes");
            if (parts[0] == "0" && parts[1].Length == 0 && File.Exists("/sys/fs/cgroup/cgroup.controllers"))
                return Read($"/sys/fs/cgroup{parts[2]}/memory.current");
        }
        return 0;
    }

    private static long Read(string path)
    {
        try { return long.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture); }
        catch (IOException) { return 0; }
    }
}
