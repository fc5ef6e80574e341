using System.Diagnostics;

namespace Sandbox.Tests.Shared;

/// <summary>
/// A two-layer OCI image made by umoci (a real third-party tool), shared by the container and micro-VM tests: the
/// first layer holds busybox, /data/keep, /data/gone and /olddir; the second deletes /data/gone and /olddir (OCI
/// whiteouts) and adds /data/added; the config sets ENTRYPOINT, CMD, Env and WorkingDir.
/// </summary>
internal static class UmociLayeredImage
{
    /// <summary>What the image's default command prints: Env, WorkingDir, /data after the whiteouts, no /olddir.</summary>
    public const string DefaultOutput = "hello-from-config\n/work/here\nadded\nkeep\n0\n";

    /// <summary>The default command's exit code: <c>grep -c</c> finds no olddir.</summary>
    public const int DefaultExitCode = 1;

    /// <summary>Builds the image as an OCI layout under <paramref name="dir"/>; returns the <c>LAYOUT:TAG</c> reference.</summary>
    public static string Build(string dir)
    {
        const string umoci = "/usr/bin/umoci";
        if (!File.Exists(umoci)) throw new InvalidOperationException("umoci is not installed (test.sh installs it)");
        var layout = Path.Combine(dir, "layout");
        Tool(umoci, "init", "--layout", layout);
        Tool(umoci, "new", "--image", layout + ":t");

        var b1 = Path.Combine(dir, "b1");
        Tool(umoci, "unpack", "--image", layout + ":t", b1);
        var rootfs = Path.Combine(b1, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin/busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "pwd", "echo", "grep", "true" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        Directory.CreateDirectory(Path.Combine(rootfs, "data"));
        File.WriteAllText(Path.Combine(rootfs, "data/keep"), "kept\n");
        File.WriteAllText(Path.Combine(rootfs, "data/gone"), "should be whited out\n");
        Directory.CreateDirectory(Path.Combine(rootfs, "olddir"));
        File.WriteAllText(Path.Combine(rootfs, "olddir/x"), "x\n");
        Tool(umoci, "repack", "--image", layout + ":t", b1);

        var b2 = Path.Combine(dir, "b2");
        Tool(umoci, "unpack", "--image", layout + ":t", b2);
        File.Delete(Path.Combine(b2, "rootfs/data/gone"));
        Directory.Delete(Path.Combine(b2, "rootfs/olddir"), true);
        File.WriteAllText(Path.Combine(b2, "rootfs/data/added"), "added\n");
        Tool(umoci, "repack", "--image", layout + ":t", b2);
        Tool(umoci, "config", "--image", layout + ":t",
            "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
            "--config.cmd", "echo $GREETING; pwd; ls /data; ls / | grep -c olddir",
            "--config.env", "GREETING=hello-from-config", "--config.workingdir", "/work/here");
        return layout + ":t";
    }

    private static void Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {stderr.Result}");
    }
}
