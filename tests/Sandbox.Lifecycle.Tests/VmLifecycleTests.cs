using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Sandbox.Interop.Libvirt;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// A detached micro-VM through the built CLI, in one boot (TCG is slow): ps, logs, exec, pause, and a SIGKILLed owner
/// that leaks no domain.
/// </summary>
public sealed class VmLifecycleTests : IClassFixture<Cli>
{
    private readonly Cli _cli;

    public VmLifecycleTests(Cli cli) => _cli = cli;

    private static List<string> Domains()
    {
        var uri = Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") is { Length: > 0 } u ? u : "qemu:///system";
        using var conn = LibvirtConnection.Open(uri);
        return conn.ListAllDomains().Select(d => { using (d) return d.Name; }).ToList();
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task ADetachedVmRunsExecsPausesAndASigkilledOwnerLeaksNoDomain()
    {
        var id = (await _cli.OkAsync("run", "-d", "--vm", "busybox", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done")).Trim();
        Assert.Contains($"sandbox-{id}", Domains());
        Assert.Contains(id, await _cli.OkAsync("ps", "--filter", "isolation=vm"));
        await EventuallyAsync(async () => (await _cli.OkAsync("logs", id)).Length > 0, "counter silent");

        var r = await _cli.RunAsync("exec", "-e", "X=y", "-w", "/tmp", id, "sh", "-c", "echo $X $(pwd) $(id -u); echo err >&2; exit 7");
        Assert.Equal((7, "y /tmp 0\n", "err\n"), (r.Code, r.Stdout, r.Stderr));
        Assert.Equal(127, (await _cli.RunAsync("exec", id, "no-such-command")).Code);

        await _cli.OkAsync("pause", id);
        await Task.Delay(500);
        var frozen = (await _cli.OkAsync("logs", id)).Length;
        await Task.Delay(2500);
        Assert.Equal(frozen, (await _cli.OkAsync("logs", id)).Length);
        await _cli.OkAsync("unpause", id);
        await EventuallyAsync(async () => (await _cli.OkAsync("logs", id)).Length > frozen, "counter did not resume");
        // The guest's clock stood still for the 3 s pause; unpause steps it to the host's (date: whole seconds).
        double before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var date = await _cli.OkAsync("exec", id, "date", "+%s");
        double after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Assert.InRange(long.Parse(date.Trim(), CultureInfo.InvariantCulture), Math.Floor(before) - 1, Math.Ceiling(after) + 1);

        using (var doc = JsonDocument.Parse(await _cli.OkAsync("inspect", id)))
        {
            var rec = doc.RootElement[0];
            Assert.Equal("Vm", rec.GetProperty("isolation").GetString());
            Assert.Equal($"sandbox-{id}", rec.GetProperty("domain").GetString());
            Process.GetProcessById(rec.GetProperty("owner").GetProperty("pid").GetInt32()).Kill();
        }
        // The owner's connection carried AUTODESTROY; the reaper's metadata check covers a libvirtd that missed it.
        await EventuallyAsync(async () => (await _cli.OkAsync("ps", "-a", "-q", "--filter", "status=exited")).Contains(id), "not shown stopped");
        await EventuallyAsync(() => Task.FromResult(!Domains().Contains($"sandbox-{id}")), "domain leaked");
        await _cli.OkAsync("rm", id);
        _cli.AssertNothingLeft([id]);
    }
}
