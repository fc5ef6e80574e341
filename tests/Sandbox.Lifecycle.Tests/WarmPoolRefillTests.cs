using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Sandbox.Interop.Libc;
using Sandbox.Interop.Libvirt;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// <c>pool fill --refill</c> (docs/microvm.md, "Warm pool", "Refill"): a taken member is replaced in the background;
/// the pool's memory budget caps the refill (it waits for room instead of booting over it); <c>pool drain</c> ends the
/// refill and leaves no domain. The budget is this fixture's own (<c>SANDBOX_POOL_MAX_MIB</c>), so the test does not
/// depend on the host's RAM: 399 MiB is two default members (128 MiB each) and one of <c>--memory 96m</c> (144 MiB)
/// minus one.
/// </summary>
public sealed class WarmPoolRefillTests : IClassFixture<Cli>, IAsyncLifetime
{
    private const string Budget = "399";
    private readonly Cli _cli;

    public WarmPoolRefillTests(Cli cli)
    {
        _cli = cli;
        _cli.Environment["SANDBOX_POOL_MAX_MIB"] = Budget;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Whatever a failed test left (a refill, members) goes before the fixture removes the root.</summary>
    public Task DisposeAsync() => _cli.RunAsync(TimeSpan.FromSeconds(400), "pool", "drain");

    private static HashSet<string> Domains()
    {
        var uri = Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") is { Length: > 0 } u ? u : "qemu:///system";
        using var conn = LibvirtConnection.Open(uri);
        return conn.ListAllDomains().Select(d => { using (d) return d.Name; }).ToHashSet();
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 300)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(500);
        }
    }

    private async Task<List<(string Id, long MemoryMiB)>> MembersAsync()
    {
        using var doc = JsonDocument.Parse(await _cli.OkAsync("pool", "ls", "--format", "json"));
        return doc.RootElement.EnumerateArray().Select(e => (e.GetProperty("id").GetString()!, e.GetProperty("memoryMiB").GetInt64())).ToList();
    }

    private string[] RefillDirs() => Directory.Exists(_cli.RunDir)
        ? Directory.EnumerateDirectories(_cli.RunDir).Where(d => File.Exists(Path.Combine(d, "refill.json"))).ToArray()
        : [];

    private async Task<string[]> FillAsync(params string[] args)
    {
        var r = await _cli.RunAsync(TimeSpan.FromSeconds(300), ["pool", "fill", "busybox", .. args]);
        Assert.True(r.Code == 0, $"pool fill {string.Join(' ', args)} exited {r.Code}: {r.Stderr}");
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task ATakenMemberIsReplacedWithinTheBudgetAndDrainEndsTheRefill()
    {
        // Over the budget from the start: refused, and no refill is left behind.
        var refused = await _cli.RefusedAsync("pool", "fill", "busybox", "--count", "4", "--refill");
        Assert.Contains("budget of " + Budget + " MiB", refused);
        Assert.Empty(RefillDirs());

        var first = await FillAsync("--count", "2", "--refill");
        Assert.Equal(2, first.Length);
        var refill = Assert.Single(RefillDirs());
        int refillPid = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(refill, "refill.json"))).RootElement.GetProperty("pid").GetInt32();
        Assert.Contains("refill " + Path.GetFileName(refill) + " keeps 2 x busybox", await _cli.OkAsync("pool", "ls"));
        // A second refill of the same shape is refused (one line, nothing started).
        Assert.Contains("already keeps", await _cli.RefusedAsync("pool", "fill", "busybox", "--refill"));

        // A taken member is replaced: the run takes one, the refill boots a new one.
        var taken = (await _cli.OkAsync("run", "-d", "--vm", "busybox", "sleep", "600")).Trim();
        await EventuallyAsync(async () => (await MembersAsync()) is var m && m.Count == 2 && m.Count(x => first.Contains(x.Id)) == 1,
            "the taken member was not replaced");
        using (var doc = JsonDocument.Parse(await _cli.OkAsync("inspect", taken)))
            Assert.Equal("warm", doc.RootElement[0].GetProperty("boot").GetString());

        // The budget caps the refill. With the refill stopped (SIGSTOP), a run takes a member and a fill of another
        // shape (--memory 96m: 144 MiB of guest RAM) uses the room: 128 + 144 MiB held, and one more default member
        // would make 400 > 399. Let go, the refill must wait, not boot.
        var holder = Process.GetProcessById(refillPid);
        Assert.True(Processes.Kill(refillPid, 19 /* SIGSTOP */));
        string other, blocker;
        try
        {
            var taken2 = (await _cli.OkAsync("run", "-d", "--vm", "busybox", "sleep", "600")).Trim();
            blocker = taken2;
            other = Assert.Single(await FillAsync("--memory", "96m"));
        }
        finally { Processes.Kill(refillPid, 18 /* SIGCONT */); }
        await Task.Delay(TimeSpan.FromSeconds(8));
        // pool ls says why the refill waits.
        Assert.Contains("waiting: budget full: 272 MiB held, " + Budget + " MiB allowed", await _cli.OkAsync("pool", "ls"));
        var capped = await MembersAsync();
        Assert.Equal(2, capped.Count);
        Assert.True(capped.Sum(m => m.MemoryMiB) <= long.Parse(Budget, CultureInfo.InvariantCulture));
        // Room again (the 144 MiB member is taken): the refill completes its count.
        var taken3 = (await _cli.OkAsync("run", "-d", "--vm", "--memory", "96m", "busybox", "sleep", "600")).Trim();
        await EventuallyAsync(async () => (await MembersAsync()) is var m && m.Count == 2 && m.All(x => x.MemoryMiB == 128),
            "the refill did not use the room it got");

        // drain: the refill first (no member comes back), then the members; nothing is left.
        var members = (await MembersAsync()).Select(m => m.Id).ToArray();
        var drained = (await _cli.OkAsync("pool", "drain")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(members.Order(), drained.Order());
        Assert.True(holder.WaitForExit(TimeSpan.FromSeconds(30)), "the refill outlived pool drain");
        Assert.Empty(RefillDirs());
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Empty(await MembersAsync());
        foreach (var id in new[] { taken, blocker, taken3 }) await _cli.OkAsync("rm", "-f", id);
        var all = first.Concat(members).Append(other).Append(taken).Append(blocker).Append(taken3).ToArray();
        await EventuallyAsync(() => Task.FromResult(!Domains().Overlaps(all.Select(m => $"sandbox-{m}"))), "a domain outlived the drain", 60);
        await _cli.OkAsync("prune");
        _cli.AssertNothingLeft(all);
        Assert.Empty(Directory.Exists(_cli.RunDir) ? Directory.EnumerateDirectories(_cli.RunDir) : []);
    }
}
