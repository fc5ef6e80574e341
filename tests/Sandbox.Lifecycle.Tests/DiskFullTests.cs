using Sandbox.Interop.Libc;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// ENOSPC during a run (issue 13), with the whole store on a small tmpfs this class mounts: a container's writable
/// layer, its state and its log share that file system, as they share /var/lib/sandbox. The workload that fills it
/// sees ENOSPC itself and its exit code is the run's; the owner still records the exit (the state reserve) and keeps
/// whole log records; a store already full refuses a run with one line. Nothing is left, and the space comes back.
/// (ENOSPC during an import: Sandbox.Images.Tests.DiskFullTests. In a micro-VM the writable layer is a tmpfs in the
/// guest: Sandbox.MicroVm.Tests.GuestDiskFullTests.)
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly Cli _cli = new();
    private readonly long _emptyFree;

    public DiskFullTests()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("DiskFullTests mount a tmpfs: run them as root (test.sh does)");
        Mounts.Mount("tmpfs", _cli.Root, "tmpfs", 0, "size=24m,mode=0755");
        // Builds the busybox image into the store first, so that each test starts from the same free space.
        _cli.OkAsync("run", "--rm", "busybox", "true").GetAwaiter().GetResult();
        _emptyFree = Free();
    }

    public void Dispose()
    {
        try { _cli.RunAsync(TimeSpan.FromSeconds(60), ["rm", "-f", .. Ids()]).Wait(); } catch (Exception) { }
        Mounts.Unmount(_cli.Root, Mounts.MNT_DETACH);
        _cli.Dispose();
    }

    private long Free() => new DriveInfo(_cli.Root).AvailableFreeSpace;

    private string[] Ids() => Directory.Exists(_cli.RunDir)
        ? Directory.EnumerateDirectories(_cli.RunDir).Select(d => Path.GetFileName(d)!).Where(n => !n.StartsWith('.')).ToArray()
        : [];

    private const string Fill = "echo before; dd if=/dev/zero of=/fill bs=64k; echo dd=$?; exit 3";

    [Fact]
    public async Task A_foreground_workload_that_fills_the_store_gets_ENOSPC_and_its_own_exit_code()
    {
        var r = await _cli.RunAsync("run", "--rm", "busybox", "sh", "-c", Fill);
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Stderr}");
        Assert.Equal("before\ndd=1\n", r.Stdout);
        // The workload's own error, nothing of ours.
        Assert.Contains("No space left on device", r.Stderr);
        Assert.DoesNotContain("sandbox:", r.Stderr);
        Assert.Empty(Ids());
        Assert.Equal(_emptyFree, Free());
    }

    [Fact]
    public async Task A_detached_workload_that_fills_the_store_has_its_exit_recorded_and_whole_log_records()
    {
        // After the fill, more output than the log file's last page holds: those records cannot be written.
        const string chatty = "echo before; dd if=/dev/zero of=/fill bs=64k; echo dd=$?; " +
            "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; exit 3";
        var id = (await _cli.OkAsync("run", "-d", "busybox", "sh", "-c", chatty)).Trim();
        var wait = await _cli.RunAsync(TimeSpan.FromSeconds(120), "wait", id);
        Assert.True(wait.Code == 0, wait.Stderr);
        Assert.Equal("3", wait.Stdout.Trim()); // recorded by the owner, not guessed by a reaper ("its owner process died")
        var inspect = await _cli.OkAsync("inspect", id);
        Assert.Contains("\"status\": \"Stopped\"", inspect);
        Assert.DoesNotContain("owner process died", inspect);
        // Every line of the log is a whole record; what did not fit is said once.
        var log = File.ReadAllLines(Path.Combine(_cli.RunDir, id, SandboxStore.LogName));
        Assert.All(log, l => Assert.True(l.StartsWith('{') && l.EndsWith('}'), "a partial record: " + l));
        var logs = await _cli.RunAsync("logs", id);
        Assert.True(logs.Code == 0, logs.Stderr);
        Assert.StartsWith("before\n", logs.Stdout);
        Assert.Contains("log record(s) lost: the file system of", logs.Stderr);
        await _cli.OkAsync("rm", id);
        _cli.AssertNothingLeft([id]);
        Assert.Equal(_emptyFree, Free());
    }

    [Fact]
    public async Task A_full_store_refuses_a_run_with_one_line_and_leaves_nothing()
    {
        var filler = Path.Combine(_cli.Root, "filler");
        try
        {
            using (var f = File.Create(filler))
            {
                var chunk = new byte[64 << 10];
                try { while (true) f.Write(chunk); }
                catch (IOException) { }
            }
            foreach (var args in new[] { new[] { "run", "--rm", "busybox", "true" }, ["run", "-d", "busybox", "true"], ["run", "busybox", "true"] })
            {
                var line = await _cli.RefusedAsync(args);
                Assert.Contains("is full", line);
                Assert.Contains("No space left on device", line);
                Assert.Empty(Ids());
            }
        }
        finally { File.Delete(filler); }
        Assert.Equal(_emptyFree, Free());
        await _cli.OkAsync("run", "--rm", "busybox", "true");
    }
}
