namespace Sandbox.Benchmarking;

/// <summary>Finds the qemu processes libvirt started for Sandbox's domains (named <c>sandbox-…</c>).</summary>
public static class QemuProcesses
{
    public static IReadOnlyList<int> OfSandboxDomains()
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            var args = cmdline.Split('\0');
            if (args.Length > 0 && args[0].Contains("qemu-system", StringComparison.Ordinal) &&
                args.Any(a => a.StartsWith("guest=sandbox-", StringComparison.Ordinal)))
                result.Add(pid);
        }
        return result;
    }
}
