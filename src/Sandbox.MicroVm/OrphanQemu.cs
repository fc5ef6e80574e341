using System.Text;
using Sandbox.Interop.Libc;

namespace Sandbox.MicroVm;

/// <summary>
/// The last resort when libvirtd died under a domain (killed during its create or during a run): qemu outlives it,
/// paused after the guest's reset and waiting for a libvirtd that will not come back for it, so nothing else would
/// end it. Found by its command line (<c>-name guest=sandbox-ID,</c>: the sandbox id is unique) among qemu processes,
/// and killed with SIGKILL. A libvirtd that comes back finds its monitor gone and forgets the domain.
/// </summary>
internal static class OrphanQemu
{
    /// <summary>Kills the qemu of domain <paramref name="domainName"/> if one runs; returns its pid, or null.</summary>
    public static int? Kill(string domainName)
    {
        var marker = Encoding.UTF8.GetBytes($"guest={domainName},");
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            byte[] cmdline;
            try
            {
                if (!Path.GetFileName(new FileInfo(Path.Combine(dir, "exe")).LinkTarget ?? "").StartsWith("qemu-system-", StringComparison.Ordinal))
                    continue;
                cmdline = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (cmdline.AsSpan().IndexOf(marker) < 0) continue;
            Processes.Kill(pid, Processes.SIGKILL);
            // Gone (or a zombie for its reaper) within moments of SIGKILL; it holds the channel socket and disk until then.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (IsRunning(pid) && DateTime.UtcNow < deadline) Thread.Sleep(10);
            return pid;
        }
        return null;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException) { return false; }
    }
}
