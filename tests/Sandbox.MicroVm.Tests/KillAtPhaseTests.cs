using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The VM backend's side of the container's KillAtPhaseTests: whoever holds a starting micro-VM — the CLI of a
/// foreground <c>run --vm</c>, the owner process of a <c>run -d --vm</c> — is SIGKILLed at each start phase mark it
/// logs (<c>--debug</c>: "sandbox start: PHASE done"), in turn. The next command (a container run: cheap, and it
/// reaps like every lifecycle command) must work, and afterwards nothing of the killed run is left: no domain, no
/// qemu, no owner, no state directory. At most one boot per mark and mode (TCG).
/// </summary>
[Collection(VmCollection.Name)]
public sealed partial class KillAtPhaseTests(VmFixture vm)
{
    [GeneratedRegex(@"sandbox start: (.+?) done at")]
    private static partial Regex PhaseLine();

    private Process StartCli(params string[] args)
    {
        var psi = new ProcessStartInfo(TestEnvironment.CliPath, ["--root", vm.Root, "--debug", .. args])
        { RedirectStandardError = true, RedirectStandardOutput = true };
        return Process.Start(psi)!;
    }

    /// <summary>The phases of a VM start, in order, from one undisturbed run's debug log.</summary>
    private async Task<List<string>> Phases()
    {
        using var p = StartCli("run", "--rm", "--vm", "busybox", "true");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await stdout;
        Assert.True(p.ExitCode == 0, stderr);
        return PhaseLine().Matches(stderr).Select(m => m.Groups[1].Value).Distinct().ToList();
    }

    [Fact]
    public async Task Sigkill_of_the_cli_or_the_owner_at_every_vm_start_phase_is_cleaned_up_by_the_next_command()
    {
        // The host's steps of a VM start (the same names as --timings-detail's: StartPhase), up to the workload's
        // execve; the run's end (exit-received, domain-gone, cleaned-up: `true` may exit before the host logged its
        // execve) is not its start.
        var phases = (await Phases()).Except(["exit-received", "domain-gone", "cleaned-up"]).ToList();
        Assert.Equal(["libvirt-connected", "image-acquired", "run-dir", "create-called", "domain-created", "hello", "start-sent",
            "workload-started"], phases);
        foreach (var phase in phases)
        {
            await KillForegroundRunAt(phase);
            await KillDetachedOwnerAt(phase);
        }
    }

    /// <summary>
    /// A signal that reaches a foreground <c>run --vm</c> while its guest boots is held and delivered to the workload
    /// once it runs (docker's sig-proxy; the workload can even print before the start returns to the CLI): the CLI
    /// is not killed by the signal's default action, so it ends the run itself, exit 143 from the workload, and leaves
    /// nothing behind without help from a next command. A second signal before the workload runs gives up the start:
    /// one line, exit 130, nothing left.
    /// </summary>
    [Fact]
    public async Task A_signal_during_a_vm_start_reaches_the_workload_and_a_second_one_aborts_the_start()
    {
        // SIGTERM twice, not SIGINT: a shell starts a background job (`./test.sh &`, a CI runner) with SIGINT ignored,
        // the CLI inherits that and .NET keeps an inherited SIG_IGN for SIGINT, as a shell's background job expects.
        foreach (var (signals, code) in new[] { (new[] { "TERM" }, 143), (new[] { "TERM", "TERM" }, 130) })
        {
            var before = vm.RunDirectories();
            using var cli = StartCli("run", "--rm", "--vm", "busybox", "sleep", "100");
            var stdout = cli.StandardOutput.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(300);
            var stderr = new System.Text.StringBuilder();
            string? line;
            while ((line = await cli.StandardError.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow)) is not null)
            {
                stderr.AppendLine(line);
                if (PhaseLine().Match(line) is { Success: true } m && m.Groups[1].Value == StartPhase.DomainCreated) break;
            }
            Assert.True(line is not null, $"the CLI ended before its domain was created: {stderr}");
            foreach (var signal in signals)
                Process.Start("kill", [$"-{signal}", cli.Id.ToString()])!.WaitForExit();
            stderr.Append(await cli.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(300)));
            await cli.WaitForExitAsync();
            await stdout;
            Assert.True(cli.ExitCode == code, $"SIG{string.Join("+SIG", signals)}: exit {cli.ExitCode}, expected {code}: {stderr}");
            if (code == 130) Assert.Contains("sandbox: interrupted", stderr.ToString());
            // The CLI cleaned up itself: no next command has run.
            Assert.Empty(vm.RunDirectories().Except(before));
            var until = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < until && (VmFixture.SandboxDomains().Count > 0 || QemuProcesses().Count > 0))
                await Task.Delay(100);
            Assert.True(VmFixture.SandboxDomains().Count == 0, $"domains left: {string.Join(", ", VmFixture.SandboxDomains())}");
        }
    }

    /// <summary>A foreground <c>run --vm</c>: the CLI owns the VM (its libvirt connection holds the AUTODESTROY domain).</summary>
    private async Task KillForegroundRunAt(string phase)
    {
        var before = vm.RunDirectories();
        using var cli = StartCli("run", "--rm", "--vm", "busybox", "sleep", "100");
        _ = cli.StandardOutput.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(300);
        string? line;
        while ((line = await cli.StandardError.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow)) is not null)
            if (PhaseLine().Match(line) is { Success: true } m && m.Groups[1].Value == phase) break;
        Assert.True(line is not null, $"run: the CLI ended before phase '{phase}'");
        cli.Kill(); // SIGKILL, right at the mark
        await cli.WaitForExitAsync();
        var killed = vm.RunDirectories().Except(before).ToList();
        await NextCommandCleansUpAsync(killed, before, $"run, killed at '{phase}'");
    }

    /// <summary>
    /// A detached <c>run -d --vm</c>: the owner process holds the VM; it logs its phases to owner.log in the new
    /// sandbox's directory. The <c>run -d</c> CLI itself then reports the owner's death, or the id if it had started.
    /// </summary>
    private async Task KillDetachedOwnerAt(string phase)
    {
        var before = vm.RunDirectories();
        using var cli = StartCli("run", "-d", "--rm", "--vm", "busybox", "sleep", "100");
        var cliOut = cli.StandardOutput.ReadToEndAsync();
        var cliErr = cli.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(300);
        string? id = null;
        int owner = 0;
        while (DateTime.UtcNow < deadline)
        {
            id ??= vm.RunDirectories().Except(before).FirstOrDefault();
            if (id is not null)
            {
                var log = Path.Combine(vm.Root, "run", id, "owner.log");
                string text = "";
                try
                {
                    using var f = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    text = await new StreamReader(f).ReadToEndAsync();
                }
                catch (IOException) { }
                if (PhaseLine().Matches(text).Any(m => m.Groups[1].Value == phase))
                {
                    owner = OwnerProcess(id);
                    break;
                }
            }
            Assert.False(cli.HasExited && id is null, $"run -d ended before its sandbox existed: {await cliErr}");
            await Task.Delay(20);
        }
        Assert.True(owner > 0, $"run -d: no owner reached phase '{phase}' (sandbox {id})");
        Process.GetProcessById(owner).Kill(); // SIGKILL
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        // Killed before it reported: one line and 125; after: the id and 0 (the reaper records the rest).
        var err = await cliErr;
        if (cli.ExitCode != 0)
        {
            Assert.Equal(125, cli.ExitCode);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("sandbox: ", StringComparison.Ordinal));
        }
        else Assert.Equal(id, (await cliOut).Trim()[..id!.Length]);
        await NextCommandCleansUpAsync([id!], before, $"run -d, owner killed at '{phase}'");
    }

    /// <param name="before">The run directories before the killed command: the collection's root is shared, and other
    /// classes' exited library sandboxes stay there until a prune (by design).</param>
    private async Task NextCommandCleansUpAsync(List<string> killed, List<string> before, string what)
    {
        var next = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "run", "--rm", "busybox", "true");
        Assert.True(next.Code == 0, $"{what}: the next run failed: {next.Stderr}");
        // libvirtd ends an AUTODESTROY domain when its connection closes, and qemu exits after it: a moment under load.
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until && (VmFixture.SandboxDomains().Count > 0 || QemuProcesses().Count > 0 || killed.Any(k => OwnerProcess(k) > 0)))
            await Task.Delay(100);
        Assert.True(VmFixture.SandboxDomains().Count == 0, $"{what}: domains left: {string.Join(", ", VmFixture.SandboxDomains())}");
        Assert.True(QemuProcesses().Count == 0, $"{what}: qemu left: {string.Join(", ", QemuProcesses())}");
        foreach (var id in killed)
        {
            Assert.True(OwnerProcess(id) == 0, $"{what}: the owner of {id} is still running");
            var dir = Path.Combine(vm.Root, "run", id);
            if (Directory.Exists(dir))
                Assert.Fail($"{what}: the state directory of {id} is left ({string.Join(", ", Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName))}); the next command said: {next.Stderr}");
        }
        Assert.Empty(vm.RunDirectories().Except(before));
    }


    /// <summary>qemu processes of this store (their command line names the channel socket in its run directory).</summary>
    private List<int> QemuProcesses() => ProcessesWhere(c => c.Contains("qemu-system", StringComparison.Ordinal) && c.Contains(vm.Root, StringComparison.Ordinal));

    private static int OwnerProcess(string id) => ProcessesWhere(c => c.Contains("__owner\0" + id, StringComparison.Ordinal)).FirstOrDefault();

    private static List<int> ProcessesWhere(Func<string, bool> match)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")); }
            catch (IOException) { continue; }
            if (match(cmdline)) found.Add(pid);
        }
        return found;
    }
}
