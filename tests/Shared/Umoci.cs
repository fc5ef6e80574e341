using System.Diagnostics;

namespace Sandbox.Tests.Shared;

/// <summary>umoci (a real third-party OCI image tool, installed by test.sh), as the shared test images use it.</summary>
internal static class Umoci
{
    private const string Binary = "/usr/bin/umoci";

    /// <summary>A new empty image <c>LAYOUT:t</c> in a new OCI layout; returns the reference.</summary>
    public static string NewImage(string layout)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException("umoci is not installed (test.sh installs it)");
        Run("init", "--layout", layout);
        Run("new", "--image", layout + ":t");
        return layout + ":t";
    }

    /// <summary>Unpacks <paramref name="image"/> into <paramref name="bundle"/>; returns the bundle's rootfs.</summary>
    public static string Unpack(string image, string bundle)
    {
        Run("unpack", "--image", image, bundle);
        return Path.Combine(bundle, "rootfs");
    }

    /// <summary>Adds what changed in <paramref name="bundle"/> as a new layer of <paramref name="image"/>.</summary>
    public static void Repack(string image, string bundle) => Run("repack", "--image", image, bundle);

    /// <summary><c>umoci config</c> of <paramref name="image"/> with <paramref name="options"/> (<c>--config.cmd</c> …).</summary>
    public static void Config(string image, params string[] options) => Run(["config", "--image", image, .. options]);

    /// <summary>The host's static busybox as <c>/bin/busybox</c>, with a link per applet.</summary>
    public static void AddBusybox(string rootfs, params string[] applets)
    {
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin/busybox"));
        foreach (var applet in applets) File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
    }

    private static void Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"umoci {string.Join(' ', args)} failed: {stderr.Result}");
    }
}
