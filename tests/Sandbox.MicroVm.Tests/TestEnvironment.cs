using System.Diagnostics;

namespace Sandbox.MicroVm.Tests;

/// <summary>Where the tests find the built artifacts (test.sh sets the variables; else the repo's out/).</summary>
internal static class TestEnvironment
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string LibvirtUri =>
        Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") is { Length: > 0 } u ? u : "qemu:///system";

    public static string KernelPath =>
        Environment.GetEnvironmentVariable("SANDBOX_KERNEL") is { Length: > 0 } k ? k
        : Path.Combine(RepoRoot, "out", "kernel", "current", "vmlinux");

    public static string InitramfsPath =>
        Environment.GetEnvironmentVariable("SANDBOX_INITRAMFS") is { Length: > 0 } i ? i
        : Environment.GetEnvironmentVariable("SANDBOX_INIT") is { Length: > 0 } init ? Path.Combine(Path.GetDirectoryName(init)!, GuestArtifacts.InitramfsFileName)
        : Path.Combine(RepoRoot, "out", "bin", GuestArtifacts.InitramfsFileName);

    public static string CliPath =>
        Environment.GetEnvironmentVariable("SANDBOX_CLI") is { Length: > 0 } c ? c : Path.Combine(RepoRoot, "out", "bin", "sandbox");

    /// <summary>Fails (never skips) with what to build when an artifact is missing.</summary>
    public static void RequireGuest()
    {
        if (!File.Exists(KernelPath))
            throw new InvalidOperationException($"guest kernel missing at {KernelPath}: run kernels/build.sh (test.sh does)");
        if (!File.Exists(InitramfsPath))
            throw new InvalidOperationException($"guest initramfs missing at {InitramfsPath}: run scripts/build.sh (test.sh does)");
    }

    public static (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sandbox.sln"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
