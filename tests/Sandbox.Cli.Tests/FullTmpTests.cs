using System.Diagnostics;
using System.Formats.Tar;

namespace Sandbox.Cli.Tests;

/// <summary>
/// A full /tmp (issue 13). The product keeps nothing in /tmp ($TMPDIR): runs, detached owners and imports work as
/// usual; the bench, whose peers (runc bundles, plain qemu's initramfs) do use it, stops with one line and leaves
/// nothing there. The host's /tmp is never touched: each command runs in a private mount namespace
/// (<c>unshare -m --propagation private</c>) with a 1 MiB tmpfs on /tmp that a file fills first.
/// </summary>
public sealed class FullTmpTests : IDisposable
{
    private readonly string _root = Path.Combine("/var/tmp", $"sandbox-fulltmp-{Guid.NewGuid():N}");

    public FullTmpTests()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("FullTmpTests mount a tmpfs: run them as root (test.sh does)");
        Directory.CreateDirectory(_root);
    }

    /// <summary>Runs the CLI with a full /tmp; returns its result and what /tmp held afterwards besides the filler.</summary>
    private (int Code, string Stdout, string Stderr, string TmpLeft) RunWithFullTmp(params string[] args)
    {
        const string script = """
            mount -t tmpfs -o size=1m tmpfs /tmp || exit 99
            cat /dev/zero > /tmp/fill 2>/dev/null
            [ "$(df -k /tmp | awk 'NR == 2 { print $4 }')" = 0 ] || { echo "/tmp is not full" >&2; exit 98; }
            "$@"; rc=$?
            echo "tmp-left=$(ls -A /tmp | grep -vx fill | tr '\n' ' ')" >&3
            exit $rc
            """;
        var marker = Path.Combine(_root, "tmp-left");
        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-m", "--propagation", "private", "sh", "-c", script.Replace(">&3", $">'{marker}'"), "sh", CliProcessTests.CliPath(), "--root", _root })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SANDBOX_INIT"] = InitPath();
        psi.Environment.Remove("TMPDIR");
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(300_000)) { p.Kill(true); throw new TimeoutException($"sandbox {string.Join(' ', args)} did not exit in 300 s"); }
        var left = File.Exists(marker) ? File.ReadAllText(marker).Trim() : "(no marker)";
        File.Delete(marker);
        return (p.ExitCode, stdout.Result, stderr.Result, left);
    }

    private static string InitPath()
    {
        var env = Environment.GetEnvironmentVariable("SANDBOX_INIT");
        return !string.IsNullOrEmpty(env) ? env : Path.Combine(Path.GetDirectoryName(CliProcessTests.CliPath())!, "sandbox-init");
    }

    [Fact]
    public void Runs_owners_and_imports_do_not_need_tmp()
    {
        var r = RunWithFullTmp("run", "--rm", "busybox", "echo", "hello");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal("hello\n", r.Stdout);
        Assert.Equal("tmp-left=", r.TmpLeft);

        // A detached run's owner is spawned from inside the namespace: it too lives without /tmp.
        r = RunWithFullTmp("run", "-d", "--name", "idle", "busybox", "sleep", "60");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal("tmp-left=", r.TmpLeft);
        r = RunWithFullTmp("exec", "idle", "echo", "from-exec");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal("from-exec\n", r.Stdout);
        r = RunWithFullTmp("rm", "-f", "idle");
        Assert.True(r.Code == 0, r.Stderr);

        var tar = Path.Combine(_root, "rootfs.tar");
        using (var f = File.Create(tar))
        using (var w = new TarWriter(f, TarEntryFormat.Ustar))
            w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "etc/hello") { DataStream = new MemoryStream("hi"u8.ToArray()) });
        r = RunWithFullTmp("image", "import", tar, "--name", "from-tar:1");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal("tmp-left=", r.TmpLeft);
        Assert.DoesNotContain(Directory.EnumerateDirectories(Path.Combine(_root, "run")), d => !Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public void The_bench_stops_with_one_line_and_leaves_nothing_in_tmp()
    {
        // runc's bundles go in /tmp; one run is enough to need it.
        var r = RunWithFullTmp("bench", "--only", "runc", "--runs", "1", "--no-density", "-o", Path.Combine(_root, "bench-out"));
        Assert.Equal(125, r.Code);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("bench: ", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count == 1, "expected one error line besides the progress lines: " + r.Stderr);
        Assert.StartsWith("sandbox: bench: a file system is full (No space left on device", lines[0]);
        Assert.Contains("/tmp", lines[0]);
        Assert.Equal("tmp-left=", r.TmpLeft);
        Assert.False(File.Exists(Path.Combine(_root, "bench-out", "bench.md")), "a report was written for a bench that failed");
    }

    public void Dispose()
    {
        CliProcessTests.Run("--root", _root, "rm", "-f", "idle");
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }
}
