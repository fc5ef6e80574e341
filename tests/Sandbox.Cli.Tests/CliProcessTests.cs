using System.Diagnostics;

namespace Sandbox.Cli.Tests;

/// <summary>Drives the published NativeAOT binary (built by test.sh) as a user would.</summary>
public class CliProcessTests
{
    internal static string CliPath()
    {
        var env = Environment.GetEnvironmentVariable("SANDBOX_CLI");
        if (!string.IsNullOrEmpty(env)) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sandbox.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repo root not found"), "out", "bin", "sandbox");
    }

    internal static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(CliPath()) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException("sandbox did not exit in 60 s"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("run", "--bogus", "busybox")]
    [InlineData("run")]
    [InlineData("info", "extra")]
    public void BadCommandLinesExit125WithOneLine(params string[] args)
    {
        var root = Directory.CreateTempSubdirectory("sandbox-cli-test-");
        try
        {
            var (code, stdout, stderr) = Run(["--root", root.FullName, .. args]);
            Assert.Equal(125, code);
            Assert.Equal("", stdout);
            var lines = stderr.TrimEnd('\n').Split('\n');
            Assert.Single(lines);
            Assert.StartsWith("sandbox: ", lines[0]);
        }
        finally { root.Delete(true); }
    }

    [Fact]
    public void HelpExitsZeroAndListsCommands()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("run [OPTIONS] IMAGE [CMD...]", stdout);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("-v")]
    [InlineData("version")]
    public void VersionPrintsOneLineAndExitsZero(string arg)
    {
        var (code, stdout, stderr) = Run(arg);
        Assert.True(code == 0, stderr);
        Assert.Equal($"sandbox version {CommandLine.ProductVersion}", stdout.Trim());
    }

    /// <summary>The same directory imported by two processes is one image: the layer's bytes never depend on the process.</summary>
    [Fact]
    public void ADirectoryImportedByTwoProcessesHasOneDigest()
    {
        var dir = Directory.CreateTempSubdirectory("sandbox-cli-test-");
        try
        {
            var src = Path.Combine(dir.FullName, "src", new string('d', 120), "etc");
            Directory.CreateDirectory(src);
            File.WriteAllText(Path.Combine(src, "os-release"), "ID=twice\n");
            var digests = new[] { "r1", "r2" }.Select(root =>
            {
                var (code, stdout, stderr) = Run("--root", Path.Combine(dir.FullName, root), "image", "import", Path.Combine(dir.FullName, "src"), "--name", "twice:1");
                Assert.True(code == 0, stderr);
                return stdout.Trim().Split(' ')[^1];
            }).ToArray();
            Assert.StartsWith("sha256:", digests[0]);
            Assert.Equal(digests[0], digests[1]);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void InfoReportsKernelAndCgroupMode()
    {
        var (code, stdout, stderr) = Run("info");
        Assert.True(code == 0, stderr);
        Assert.Contains(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), stdout);
        var expected = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "hybrid";
        Assert.Contains("Cgroups:", stdout);
        Assert.Contains(expected, stdout);
    }
}
