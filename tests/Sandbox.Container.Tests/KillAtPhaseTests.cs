using System.Diagnostics;
using System.Text.RegularExpressions;
using Sandbox.Container.Cgroups;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// The `sandbox` CLI killed with SIGKILL at each start phase mark it logs (`--debug`: "sandbox start: PHASE done"),
/// in turn: whatever the phase, the next command runs normally and afterwards nothing of the killed run is left —
/// no mounts, no cgroups, no state directory, no sandbox-init.
/// </summary>
public sealed partial class KillAtPhaseTests(ContainerFixture fx) : IClassFixture<ContainerFixture>
{
    [GeneratedRegex(@"sandbox start: (.+?) done at")]
    private static partial Regex PhaseLine();

    private Process StartCli(params string[] args)
    {
        var psi = new ProcessStartInfo(CleanupTests.CliPath(), ["--debug", .. args]) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.Environment["SANDBOX_ROOT"] = fx.Root;
        psi.Environment["SANDBOX_INIT"] = ContainerFixture.InitPath;
        return Process.Start(psi)!;
    }

    /// <summary>The phases a run goes through, in order, from one undisturbed run's debug log.</summary>
    private async Task<List<string>> Phases()
    {
        using var p = StartCli("run", "--rm", "busybox", "true");
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, stderr);
        return PhaseLine().Matches(stderr).Select(m => m.Groups[1].Value).Distinct().ToList();
    }

    [Fact]
    public async Task Sigkill_at_every_start_phase_is_cleaned_up_by_the_next_command()
    {
        var phases = await Phases();
        Assert.True(phases.Count >= 3, "expected several start phases in the debug log, got: " + string.Join(", ", phases));
        var killed = new List<string>();
        foreach (var phase in phases)
        {
            using var cli = StartCli("run", "--rm", "busybox", "sleep", "100");
            _ = cli.StandardOutput.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string? line;
            while ((line = await cli.StandardError.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow)) is not null)
                if (PhaseLine().Match(line) is { Success: true } m && m.Groups[1].Value == phase) break;
            Assert.True(line is not null, $"the CLI ended before phase '{phase}'");
            cli.Kill(); // SIGKILL, right at the mark
            await cli.WaitForExitAsync();
            killed.AddRange(RunDirectories());

            // sandbox-init sees its host's end of the control socket close and ends the sandbox (the first line of
            // defence); the next command then reaps the state and cgroups the killed CLI left (the second).
            var until = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < until && InitProcesses().Any()) await Task.Delay(50);
            Assert.True(!InitProcesses().Any(), $"after a kill at '{phase}': sandbox-init did not end");
            // The next CLI command (every lifecycle command reaps first; the library runtime does not).
            using (var next = StartCli("run", "--rm", "busybox", "true"))
            {
                _ = next.StandardOutput.ReadToEndAsync();
                var err = await next.StandardError.ReadToEndAsync();
                await next.WaitForExitAsync();
                Assert.True(next.ExitCode == 0, $"after a kill at '{phase}': the next run failed: {err}");
            }
            await AssertNothingLeftAsync(killed, phase);
        }
    }

    private IEnumerable<string> RunDirectories() => Directory.Exists(fx.Paths.Run)
        ? Directory.EnumerateDirectories(fx.Paths.Run).Select(d => Path.GetFileName(d)!).Where(d => !d.StartsWith('.')).ToList()
        : [];

    private async Task AssertNothingLeftAsync(IEnumerable<string> ids, string phase)
    {
        // sandbox-init notices its host is gone and ends the sandbox; give it a moment under load.
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until && (RunDirectories().Any() || InitProcesses().Any())) await Task.Delay(50);
        Assert.False(RunDirectories().Any(), $"after a kill at '{phase}': state left: {string.Join(",", RunDirectories())}");
        Assert.DoesNotContain(fx.Root, File.ReadAllText("/proc/self/mountinfo"));
        foreach (var id in ids)
            Assert.All(Cgroup.For(id).Paths(), p => Assert.False(Directory.Exists(p), $"after a kill at '{phase}': cgroup {p} left"));
        Assert.Empty(InitProcesses());
    }

    /// <summary>sandbox-init processes of this fixture's root (other tests' sandboxes are not ours to judge).</summary>
    private IEnumerable<int> InitProcesses()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")); }
            catch (IOException) { continue; }
            if (cmdline.Contains("sandbox-init") && cmdline.Contains(fx.Root)) yield return pid;
        }
    }
}
