using System.Diagnostics;
using Sandbox.Core;

namespace Sandbox.Container.Tests;

/// <summary>
/// A minimal image for the container tests: Debian's busybox-static with its applet links, a passwd/group, and a
/// statically linked probe (probe.c) for the seccomp tests. Built once per test run into a temp directory.
/// </summary>
public sealed class BusyboxImage : IImageProvider
{
    private static readonly Lazy<string> Built = new(Build);

    public static string Rootfs => Built.Value;

    public ImageConfig Config { get; init; } = new() { Cmd = ["sh"] };

    public Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default)
    {
        if (reference != "busybox") throw new SandboxException(SandboxFailure.Image, $"image '{reference}' not found");
        return Task.FromResult<IImageLease>(new Lease(Rootfs, Config));
    }

    private sealed class Lease(string rootfs, ImageConfig config) : IImageLease
    {
        public string Digest => "sha256:test";
        public string Name => "busybox";
        public ImageConfig Config => config;
        public string RootfsPath => rootfs;
        public void Dispose() { }
    }

    private static string Build()
    {
        // Leftovers of earlier runs that died before their exit handler ran.
        foreach (var old in Directory.EnumerateDirectories(Path.GetTempPath(), "sandbox-test-busybox-*"))
        {
            if (int.TryParse(old[(old.LastIndexOf('-') + 1)..], out var pid) && !Directory.Exists($"/proc/{pid}"))
                try { Directory.Delete(old, true); } catch (IOException) { }
        }
        var root = Path.Combine(Path.GetTempPath(), $"sandbox-test-busybox-{Environment.ProcessId}");
        if (Directory.Exists(root)) Directory.Delete(root, true);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, true); } catch (IOException) { }
        };
        foreach (var d in new[] { "bin", "etc", "tmp", "root", "usr/local/bin", "home/alice" }) Directory.CreateDirectory(Path.Combine(root, d));
        File.SetUnixFileMode(root, (UnixFileMode)0x1ed);
        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0x3ff);
        File.Copy("/bin/busybox", Path.Combine(root, "bin/busybox"));
        var list = Run("/bin/busybox", "--list");
        foreach (var applet in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var link = Path.Combine(root, "bin", applet.Trim());
            if (!File.Exists(link)) File.CreateSymbolicLink(link, "busybox");
        }
        File.WriteAllText(Path.Combine(root, "etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Combine(root, "etc/group"),
            "root:x:0:\nalice:x:1000:\nstaff:x:50:alice\nnogroup:x:65534:\n");
        var probe = Path.Combine(AppContext.BaseDirectory, "probe.c");
        Run("gcc", $"-static -O1 -o {Path.Combine(root, "usr/local/bin/probe")} {probe}");
        return root;
    }

    internal static string Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {error}");
        return output;
    }
}
