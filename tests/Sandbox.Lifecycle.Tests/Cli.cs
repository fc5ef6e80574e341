using System.Diagnostics;
using Sandbox.Container.Cgroups;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// The published <c>sandbox</c> binary (SANDBOX_CLI, else out/bin/sandbox) with its own state root per test class, so
/// what a test leaves can be checked exactly: directories, mounts, cgroups, processes, sockets.
/// </summary>
public sealed class Cli : IDisposable
{
    public Cli()
    {
        Root = Path.Combine("/var/tmp", $"sandbox-lifecycle-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }
    public string RunDir => Path.Combine(Root, "run");

    /// <summary>Extra environment for every command of this fixture (e.g. the pool's budget).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Sandbox.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repo root not found");
    }

    public static string CliPath() =>
        System.Environment.GetEnvironmentVariable("SANDBOX_CLI") is { Length: > 0 } p ? p : Path.Combine(RepoRoot(), "out", "bin", "sandbox");

    public static string InitPath() =>
        System.Environment.GetEnvironmentVariable("SANDBOX_INIT") is { Length: > 0 } p ? p : Path.Combine(RepoRoot(), "out", "bin", "sandbox-init");

    public Process Start(params string[] args)
    {
        var cli = CliPath();
        if (!File.Exists(cli)) throw new InvalidOperationException($"the sandbox CLI is not built ({cli}): run scripts/build.sh or set SANDBOX_CLI");
        var psi = new ProcessStartInfo(cli) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SANDBOX_ROOT"] = Root;
        psi.Environment["SANDBOX_INIT"] = InitPath();
        psi.Environment["SANDBOX_CLI"] = cli;
        foreach (var (k, v) in Environment) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    public async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => await RunAsync(TimeSpan.FromSeconds(90), args);

    public async Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var p = Start(args);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try { await p.WaitForExitAsync().WaitAsync(timeout); }
        catch (TimeoutException) { p.Kill(true); throw new TimeoutException($"sandbox {string.Join(' ', args)} did not exit in {timeout}"); }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a command that must succeed; returns its stdout.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var r = await RunAsync(args);
        Assert.True(r.Code == 0, $"sandbox {string.Join(' ', args)} exited {r.Code}: {r.Stderr}");
        return r.Stdout;
    }

    /// <summary>A refused command: exit 125, one line on stderr, nothing on stdout.</summary>
    public async Task<string> RefusedAsync(params string[] args)
    {
        var r = await RunAsync(args);
        Assert.True(r.Code == 125, $"sandbox {string.Join(' ', args)} exited {r.Code} (want 125): {r.Stdout} {r.Stderr}");
        var lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, "more than one line: " + r.Stderr);
        Assert.StartsWith("sandbox: ", lines[0]);
        return lines[0];
    }

    /// <summary>Nothing of these sandboxes is left: directory, mount, cgroup, process (init or owner), domain.</summary>
    public void AssertNothingLeft(IEnumerable<string> ids)
    {
        var mountinfo = File.ReadAllText("/proc/self/mountinfo");
        Assert.DoesNotContain(Root + "/run", mountinfo);
        foreach (var id in ids)
        {
            Assert.False(Directory.Exists(Path.Combine(RunDir, id)), $"directory of {id} left");
            Assert.All(Cgroup.For(id).Paths(), p => Assert.False(Directory.Exists(p), $"cgroup {p} left"));
        }
        // An owner releases its lock (and rm then removes the directory) just before it exits: give that exit a moment.
        var until = DateTime.UtcNow.AddSeconds(10);
        List<string> owners;
        while ((owners = OwnerProcesses(ids)).Count > 0 && DateTime.UtcNow < until) Thread.Sleep(50);
        Assert.True(owners.Count == 0, "owners left: " + string.Join(", ", owners));
    }

    private static List<string> OwnerProcesses(IEnumerable<string> ids)
    {
        var found = new List<string>();
        foreach (var pid in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)))
        {
            string cmdline;
            try { cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            foreach (var id in ids)
                if (cmdline.Contains("__owner " + id)) found.Add($"{id} (pid {pid})");
        }
        return found;
    }

    public void Dispose()
    {
        // Best effort: whatever a failed test left running goes with the root.
        try { RunAsync(TimeSpan.FromSeconds(120), ["rm", "-f", .. ListIds()]).Wait(); } catch (Exception) { }
        try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private string[] ListIds() =>
        Directory.Exists(RunDir) ? Directory.EnumerateDirectories(RunDir).Select(d => Path.GetFileName(d)!).Where(n => !n.StartsWith('.')).ToArray() : [];
}
