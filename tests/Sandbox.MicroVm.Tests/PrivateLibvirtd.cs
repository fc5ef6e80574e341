using System.Diagnostics;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// A libvirtd of the test's own, to be killed: never the shared one other developers and test assemblies use. It runs
/// in a private mount namespace whose /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
/// /etc/libvirt are this object's directory (so it sees none of the shared daemon's domains or networks), listens on
/// a socket in that directory (<see cref="Uri"/>, for the CLI's --libvirt-uri), and writes qemu's output to files
/// (no virtlogd). The process started is libvirtd itself (unshare and sh exec it), so <see cref="Kill"/> is SIGKILL of
/// libvirtd; the qemu processes it started live on, as they would after a crash.
/// </summary>
internal sealed class PrivateLibvirtd : IDisposable
{
    private readonly Process _process;

    public string Dir { get; }
    public string Uri => $"qemu:///system?socket={Dir}/sock/libvirt-sock";
    public int Pid => _process.Id;

    private PrivateLibvirtd(string dir, Process process)
    {
        Dir = dir;
        _process = process;
    }

    public static PrivateLibvirtd Start()
    {
        var dir = Directory.CreateTempSubdirectory("sandbox-libvirtd-").FullName;
        foreach (var d in new[] { "etc", "run", "lib", "cache", "log", "sock" }) Directory.CreateDirectory(Path.Combine(dir, d));
        File.WriteAllText(Path.Combine(dir, "etc/libvirtd.conf"),
            $"unix_sock_dir = \"{dir}/sock\"\nunix_sock_rw_perms = \"0700\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n");
        File.WriteAllText(Path.Combine(dir, "etc/qemu.conf"), "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\nsecurity_driver = \"none\"\n");
        var script = $"""
            mount -t tmpfs tmpfs /run/libvirt &&
            mount --bind '{dir}/lib' /var/lib/libvirt &&
            mount --bind '{dir}/cache' /var/cache/libvirt &&
            mount --bind '{dir}/log' /var/log/libvirt &&
            mount --bind '{dir}/etc' /etc/libvirt &&
            exec libvirtd --pid-file '{dir}/run/libvirtd.pid' >>'{dir}/libvirtd.out' 2>&1
            """;
        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = false, RedirectStandardError = false };
        foreach (var a in new[] { "--mount", "--propagation", "private", "--", "sh", "-c", script }) psi.ArgumentList.Add(a);
        var lv = new PrivateLibvirtd(dir, Process.Start(psi)!);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(Path.Combine(dir, "sock/libvirt-sock")))
        {
            if (lv._process.HasExited || DateTime.UtcNow > deadline)
            {
                var log = File.Exists(Path.Combine(dir, "libvirtd.out")) ? File.ReadAllText(Path.Combine(dir, "libvirtd.out")) : "";
                lv.Dispose();
                throw new InvalidOperationException("the test's private libvirtd did not come up: " + log);
            }
            Thread.Sleep(50);
        }
        return lv;
    }

    /// <summary>SIGKILL, as a crash or an OOM kill would end it.</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>qemu processes whose command line names <paramref name="text"/> (a store root), zombies left out.</summary>
    public static List<int> QemuProcesses(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                if (!(new FileInfo(Path.Combine(dir, "exe")).LinkTarget ?? "").Contains("qemu-system")) continue;
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(text)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return found;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        // Whatever a failed test left of this daemon's guests (their command lines hold this directory's paths).
        foreach (var pid in QemuProcesses(Dir))
        {
            try { Process.GetProcessById(pid).Kill(); } catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
        }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
